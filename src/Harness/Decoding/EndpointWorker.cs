using Harness.Datasets;
using Harness.Measurement;

namespace Harness.Decoding;

/// <summary>One worker's stream and what it measured in the window.</summary>
internal sealed class EndpointWorker(long frequency)
{
    public WorkerStream Stream { get; } = new();

    public SampleRecorder Ttfo { get; } = new(frequency);

    public SampleRecorder ItlEvent { get; } = new(frequency);

    public SampleRecorder TtftFromSend { get; } = new(frequency);

    public SampleRecorder LatencyFromSend { get; } = new(frequency);

    public SampleRecorder SendLag { get; } = new(frequency);

    public long CpuTicks { get; set; }

    public long BusyTicks { get; private set; }

    public long Ok { get; private set; }

    public long WithUsage { get; private set; }

    public long PromptRequested { get; private set; }

    public long PromptServer { get; private set; }

    public long Cached { get; private set; }

    public long OutputRequested { get; private set; }

    public long OutputServer { get; private set; }

    public long OutputClient { get; private set; }

    public long Held { get; private set; }

    public long Checked { get; private set; }

    public long TokenEvents { get; private set; }

    public long EmptyEvents { get; private set; }

    public long Comments { get; private set; }

    public long MissingDone { get; private set; }

    public EventTokenSource? Source { get; private set; }

    public Dictionary<string, long> FinishReasons { get; } = new(StringComparer.Ordinal);

    /// <summary>Requests of the window sent again on a fresh connection, by reason, ok or not.</summary>
    public Dictionary<string, long> Retries { get; } = new(StringComparer.Ordinal);

    /// <summary>Adds the counts of <paramref name="workers"/> to <paramref name="report"/>: the one place they are summed.</summary>
    public static void AddTo(ServingReport report, IEnumerable<EndpointWorker> workers)
    {
        EventTokenSource? source = null;
        foreach (EndpointWorker w in workers)
        {
            report.RequestsOk += w.Ok;
            report.RequestsWithUsage += w.WithUsage;
            report.PromptTokensRequested += w.PromptRequested;
            report.PromptTokensServer += w.PromptServer;
            report.OutputTokensRequested += w.OutputRequested;
            report.OutputTokensServer += w.OutputServer;
            report.OutputTokensClient += w.OutputClient;
            report.OutputLengthHeld += w.Held;
            report.OutputLengthChecked += w.Checked;
            report.TokenEvents += w.TokenEvents;
            report.EmptyEvents += w.EmptyEvents;
            report.Comments += w.Comments;
            report.MissingDone += w.MissingDone;
            if (w.Cached > 0)
            {
                report.CachedPromptTokensServer = (report.CachedPromptTokensServer ?? 0) + w.Cached;
            }

            foreach ((string k, long v) in w.FinishReasons)
            {
                report.FinishReasons[k] = report.FinishReasons.GetValueOrDefault(k) + v;
            }

            foreach ((string k, long v) in w.Retries)
            {
                report.ConnectionRetries[k] = report.ConnectionRetries.GetValueOrDefault(k) + v;
            }

            source = w.Source ?? source;
            report.ClientCpuS += TimeSpan.FromTicks(w.CpuTicks).TotalSeconds;
        }

        report.EventTokens = (source ?? EventTokenSource.Events).ToString().ToLowerInvariant();
    }

    /// <summary>The client's CPU seconds over the window, all workers together.</summary>
    public static double CpuSeconds(IEnumerable<EndpointWorker> workers) => workers.Sum(w => TimeSpan.FromTicks(w.CpuTicks).TotalSeconds);

    public void Count(StreamRecord r, PromptItem item, long due)
    {
        Ok++;
        BusyTicks += r.End - r.Sent;
        if (r.FirstOutput is > 0 and var output)
        {
            Ttfo.Record(output - due);
        }

        if (r.FirstToken > 0)
        {
            TtftFromSend.Record(r.FirstToken - r.Sent);
        }

        ReadOnlySpan<StreamEvent> events = r.Events;
        for (int i = 1; i < events.Length; i++)
        {
            ItlEvent.Record(events[i].Timestamp - events[i - 1].Timestamp);
        }

        LatencyFromSend.Record(r.End - r.Sent);
        PromptRequested += item.InputTokens;
        OutputRequested += item.OutputTokens;
        if (r.PromptTokens is not null || r.CompletionTokens is not null)
        {
            WithUsage++;
            PromptServer += r.PromptTokens ?? 0;
            OutputServer += r.CompletionTokens ?? 0;
        }

        Cached += r.CachedTokens ?? 0;
        OutputClient += r.ClientTokens;
        Checked++;
        if ((r.CompletionTokens ?? r.EventTokens) == item.OutputTokens)
        {
            Held++;
        }

        TokenEvents += events.Length;
        EmptyEvents += r.EmptyEvents;
        Comments += r.Comments;
        if (!r.Done)
        {
            MissingDone++;
        }

        string reason = r.FinishReason ?? "(none)";
        FinishReasons[reason] = FinishReasons.GetValueOrDefault(reason) + 1;
        Source = r.TokensFrom;
    }
}

/// <summary>A worker's stream: the record the endpoint fills, and how the request ended.</summary>
internal sealed class WorkerStream : IRecordingLlmStream
{
    public StreamRecord Record { get; } = new();

    public Exception? Error { get; private set; }

    public bool Cancelled { get; private set; }

    public void Reset(bool keepText)
    {
        Record.Clear();
        Record.KeepText = keepText;
        Error = null;
        Cancelled = false;
    }

    public void Admitted(LlmRequest request, long timestamp)
    {
    }

    public void Token(LlmRequest request, long token, long timestamp)
    {
    }

    public void Completed(LlmRequest request, LlmCompletion completion, long timestamp) =>
        Cancelled = completion == LlmCompletion.Cancelled;

    public void Failed(LlmRequest request, Exception error) => Error = error;
}
