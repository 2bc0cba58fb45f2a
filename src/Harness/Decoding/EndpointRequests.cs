using Harness.Datasets;
using Harness.Engine;
using Harness.Measurement;
using Harness.Metrics;
using Harness.Models;
using Harness.ServerMetrics;
using Harness.Validity;

namespace Harness.Decoding;

/// <summary>
/// <c>generate</c>'s requests over a connected request-level endpoint (an HTTP server doing its own
/// batching): each request is the next item of the dataset (or the replayed trace's entry), run on
/// the worker's thread through <see cref="ILlmEndpoint.Run"/>; its streamed events become the
/// engine's token marks (TTFT, per-token ITL, TPOT), and the endpoint's record gives what the engine
/// does not know: TTFO, per-event ITL, send lag, latency from send, usage beside the client's counts
/// (<see cref="EndpointWorker"/>). The server's metrics are scraped over the measured window. The
/// client's own CPU and its send lag judge whether the load generator kept up (<see cref="EndpointConditions"/>).
/// The endpoint's workload connects, then hands the connection here.
/// </summary>
public sealed class EndpointRequests : IDisposable
{
    private readonly EndpointConnection _connection;
    private readonly EndpointRequestSpec _spec;
    private readonly string _name;
    private readonly IClock _clock;
    private EndpointPrompts? _prompts;
    private EndpointWorker[] _workers = [];
    private ServerMetricsScraper? _scraper;
    private string? _metricsNote;
    private long _next;
    private volatile bool _measuring;
    private Dictionary<string, object?> _details = [];

    /// <param name="name">The endpoint as the result names it (its URL, never a credential).</param>
    public EndpointRequests(EndpointConnection connection, EndpointRequestSpec spec, string name, IClock clock)
    {
        _connection = connection;
        _spec = spec;
        _name = name;
        _clock = clock;
    }

    public ILlmEndpoint Endpoint => _connection.Endpoint;

    /// <summary>One sequence per request: checked before anything connects.</summary>
    public static void RequireOneSequence(WorkloadContext context)
    {
        if (context.Batch != 1)
        {
            throw HarnessException.BadInput(
                "generate against an endpoint sends one sequence per request: use --scenario concurrency:N or poisson:RATE "
                + $"for parallel requests, not --batch {context.Batch}.");
        }
    }

    public WorkloadDescription Prepare(WorkloadContext context)
    {
        RequireOneSequence(context);
        _prompts = new EndpointPrompts(_spec.Dataset.Open(context.Seed, _connection.Tokenizer));
        _workers = Enumerable.Range(0, context.Workers).Select(_ => new EndpointWorker(_clock.Frequency)).ToArray();
        Datasets.PromptItem first = _prompts.Item(0);
        EndpointPreparation.Probe(Endpoint, _name, first, _clock.Frequency, context.CancellationToken);
        (_scraper, _metricsNote) = EndpointPreparation.StartServerMetrics(_spec.ServerMetrics, _connection.MetricsUrl, _clock);
        _details = new Dictionary<string, object?>(Endpoint.Details)
        {
            [ConfigKeys.Endpoint] = _name,
            [ConfigKeys.OutputLengthControl] = _connection.OutputLengthControl,
            [ConfigKeys.Tokenizer] = _connection.Tokenizer?.Name,
            [ConfigKeys.Batch] = 1,
            [ConfigKeys.PromptTokens] = first.InputTokens,
            [ConfigKeys.NewTokens] = first.OutputTokens,
            [ConfigKeys.ServerMetricsUrl] = _scraper?.Url.ToString(),
        };
        foreach ((string k, object? v) in _prompts.Dataset.Details())
        {
            _details[k] = v;
        }

        if (_spec.ModelConfig is { } model)
        {
            // What the server is said to serve (--model-config): the shape that cost and projection use.
            foreach ((string k, object? v) in GenerateSettings.DescribeShape(model))
            {
                _details[k] = v;
            }
        }

        return new WorkloadDescription("tokens", first.InputTokens, first.OutputTokens, _details);
    }

    public void Execute(RequestContext ctx)
    {
        EndpointPrompts prompts = _prompts ?? throw new InvalidOperationException("not prepared");
        EndpointWorker w = _workers[ctx.WorkerIndex];
        long index = ctx.Item >= 0 ? ctx.Item : Interlocked.Increment(ref _next) - 1;
        Datasets.PromptItem item = prompts.Item(index);
        (IReadOnlyList<LlmMessage> messages, List<LlmMessage>? history) = prompts.Messages(item, replayed: ctx.Item >= 0);
        var request = new LlmRequest { PromptTokens = item.InputTokens, MaxNewTokens = item.OutputTokens, Messages = messages };
        w.Stream.Reset(keepText: history is not null);
        TimeSpan cpu0 = CpuTime.CurrentThread();
        try
        {
            Endpoint.Run(request, w.Stream, ctx.CancellationToken);
        }
        finally
        {
            if (_measuring)
            {
                w.CpuTicks += (CpuTime.CurrentThread() - cpu0).Ticks;
            }
        }

        StreamRecord r = w.Stream.Record;
        if (_measuring && r.Sent > 0)
        {
            w.SendLag.Record(Math.Max(0, r.Sent - ctx.ScheduledTimestamp));
        }

        if (_measuring && r.ConnectionRetry is { } retry)
        {
            w.Retries[retry] = w.Retries.GetValueOrDefault(retry) + 1;
        }

        if (history is not null)
        {
            prompts.Remember(history, item, r.Answer.ToString());
        }

        if (w.Stream.Cancelled)
        {
            throw new OperationCanceledException(ctx.CancellationToken);
        }

        if (w.Stream.Error is { } error)
        {
            string reason = r.Failure ?? error.Message;
            throw r.TimedOut ? new TimeoutException(reason) : new RequestFailedException(reason);
        }

        foreach (StreamEvent e in r.Events)
        {
            ctx.MarkTokens(e.Tokens, e.Timestamp);
        }

        int output = r.CompletionTokens ?? r.EventTokens;
        ctx.InputUnits = r.PromptTokens ?? item.InputTokens;
        ctx.OutputUnits = output;
        if (_measuring)
        {
            w.Count(r, item, ctx.ScheduledTimestamp);
        }
    }

    /// <summary>The server's metrics and the client's CPU follow the measured window.</summary>
    public void PhaseStarted(string phase, long timestamp)
    {
        if (phase == RunPhases.Measuring)
        {
            _measuring = true;
        }
        else if (phase == RunPhases.Done)
        {
            _measuring = false;
        }

        _scraper?.PhaseStarted(phase, timestamp);
    }

    public IReadOnlyList<DerivedMetric> Derive(EngineResult run)
    {
        double window = run.WindowSeconds;
        double cpu = EndpointWorker.CpuSeconds(_workers);
        long ok = _workers.Sum(w => w.Ok);
        long held = _workers.Sum(w => w.Held);
        long checkedHeld = _workers.Sum(w => w.Checked);
        // The mean number of requests in flight (SGLang's "concurrency"): what projection reads as the batch.
        double inFlight = window > 0 ? _workers.Sum(w => w.BusyTicks) / (double)run.Frequency / window : 0;
        _details[ConfigKeys.Batch] = Math.Max(1, (int)Math.Round(inFlight));
        _details[ConfigKeys.MeanRequestsInFlight] = Math.Round(inFlight, 3);
        if (ok > 0)
        {
            _details[ConfigKeys.PromptTokens] = (int)Math.Round(_workers.Sum(w => w.PromptRequested) / (double)ok);
            _details[ConfigKeys.NewTokens] = (int)Math.Round(_workers.Sum(w => w.OutputRequested) / (double)ok);
        }

        return
        [
            new(MetricCatalog.OutputTokensPerS, window > 0 ? run.OutputUnits / window : null),
            new(
                MetricCatalog.ClientCpuCores,
                window > 0 ? cpu / window : null,
                "worker threads' CPU while their requests ran; the dispatcher and the engine's bookkeeping are not counted"),
            new(MetricCatalog.ClientCpuUsPerToken, run.OutputUnits > 0 ? cpu * 1e6 / run.OutputUnits : null),
            new(
                MetricCatalog.OutputLengthHeld,
                checkedHeld > 0 ? (double)held / checkedHeld : null,
                $"held with {_connection.OutputLengthControl}"),
            new(MetricCatalog.ConnectionRetries, _workers.Sum(w => w.Retries.Values.Sum())),
        ];
    }

    public IReadOnlyList<DerivedDistribution> DeriveDistributions(EngineResult run)
    {
        long f = run.Frequency;
        DistributionSummary? Merge(Func<EndpointWorker, SampleRecorder> pick) =>
            DistributionSummary.From(SampleRecorder.Merge(f, _workers.Select(pick)));
        return
        [
            new(MetricCatalog.TtfoMs, Merge(w => w.Ttfo)),
            new(MetricCatalog.ItlEventMs, Merge(w => w.ItlEvent)),
            new(MetricCatalog.TtftFromSendMs, Merge(w => w.TtftFromSend)),
            new(MetricCatalog.LatencyFromSendMs, Merge(w => w.LatencyFromSend)),
            new(MetricCatalog.SendLagMs, Merge(w => w.SendLag), "every request that was sent, ok or not"),
        ];
    }

    public IReadOnlyList<ValidityCondition> Conditions(EngineResult run) => EndpointConditions.Of(run, _workers);

    /// <summary>The result's <c>serving</c> section: the one method that builds it.</summary>
    public ServingReport Serving(EngineResult run)
    {
        var report = new ServingReport
        {
            Endpoint = _name,
            Model = Endpoint.Details.GetValueOrDefault(ConfigKeys.Model) as string,
            Api = Endpoint.Details.GetValueOrDefault(ConfigKeys.Api) as string,
            Dataset = _prompts?.Dataset.Spec ?? "",
            Tokenizer = _connection.Tokenizer?.Name,
            OutputLengthControl = _connection.OutputLengthControl,
            ClientCount = _connection.Tokenizer is null ? "events" : "tokenizer",
            ServerMetricsNote = _metricsNote,
        };
        EndpointWorker.AddTo(report, _workers);
        report.ServerMetrics = _scraper?.Report();
        return report;
    }

    public void Dispose()
    {
        _scraper?.Dispose();
        _connection.Endpoint.Dispose();
    }
}

/// <summary>
/// A request the endpoint answered with a failure (an HTTP error, a reset, a malformed or cut stream);
/// its message is the reason.
/// </summary>
public sealed class RequestFailedException(string reason) : Exception(reason);
