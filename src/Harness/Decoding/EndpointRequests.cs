using System.Globalization;
using Harness.Backends;
using Harness.Datasets;
using Harness.Engine;
using Harness.Measurement;
using Harness.Metrics;
using Harness.ServerMetrics;
using Harness.Validity;

namespace Harness.Decoding;

/// <summary>
/// <c>generate</c> over a request-level endpoint (an HTTP server doing its own batching): each
/// request is the next item of the dataset (or the replayed trace's entry), run on the worker's
/// thread through <see cref="ILlmEndpoint.Run"/>; its streamed events become the engine's token marks
/// (TTFT, per-token ITL, TPOT), and the endpoint's record gives what the engine does not know: TTFO,
/// per-event ITL, send lag, latency from send, usage beside the client's counts. The server's
/// metrics are scraped over the measured window. The client's own CPU and its send lag judge
/// whether the load generator kept up (<see cref="Conditions"/>).
/// </summary>
internal sealed class EndpointRequests : IDisposable
{
    /// <summary>Client CPU above this many cores means the client, not the server, may have been the bottleneck.</summary>
    public const double MaxClientCores = 0.8;

    /// <summary>Items generated before the run (beyond, each is generated when it is due), and the characters they may take.</summary>
    private const int PreparedItems = 4096;
    private const long PreparedChars = 64L << 20;

    private readonly IEndpointProvider _provider;
    private readonly BackendSpec _backend;
    private readonly WorkloadOptions _options;
    private readonly IClock _clock;
    private readonly Dictionary<string, List<LlmMessage>> _sessions = new(StringComparer.Ordinal);
    private EndpointConnection? _connection;
    private PromptDataset? _dataset;
    private PromptItem[] _prepared = [];
    private Worker[] _workers = [];
    private ServerMetricsScraper? _scraper;
    private string? _metricsNote;
    private long _next;
    private volatile bool _measuring;
    private Dictionary<string, object?> _details = [];

    public EndpointRequests(IEndpointProvider provider, BackendSpec backend, WorkloadOptions options, IClock? clock = null)
    {
        _provider = provider;
        _backend = backend;
        _options = options;
        _clock = clock ?? StopwatchClock.Instance;
    }

    public ILlmEndpoint Endpoint => _connection?.Endpoint ?? throw new InvalidOperationException("not prepared");

    public WorkloadDescription Prepare(WorkloadContext context)
    {
        if (context.Batch != 1)
        {
            throw HarnessException.BadInput($"generate against an endpoint sends one sequence per request: use --scenario concurrency:N or poisson:RATE for parallel requests, not --batch {context.Batch}.");
        }

        _connection = _provider.Connect(_backend, _options, new EndpointSettings { Clock = _clock, RequestTimeout = context.RequestTimeout });
        string spec = _options.Dataset ?? string.Create(CultureInfo.InvariantCulture, $"synthetic:in={_options.PromptTokens ?? 128},out={_options.NewTokens ?? 128}");
        _dataset = PromptDataset.Parse(spec, context.Seed, _connection.Tokenizer, _options.PromptTokens, _options.NewTokens);
        _prepared = Prepared(_dataset);
        _workers = Enumerable.Range(0, context.Workers).Select(_ => new Worker(_clock.Frequency)).ToArray();

        // One short request before anything is measured: a wrong model, key or URL shows here, in one sentence.
        PromptItem first = Item(0);
        var probe = new Worker(_clock.Frequency);
        Endpoint.Run(new LlmRequest { PromptTokens = first.InputTokens, MaxNewTokens = Math.Min(first.OutputTokens, 4), Messages = first.Messages }, probe.Stream, context.CancellationToken);
        if (probe.Stream.Error is not null)
        {
            throw HarnessException.BadInput($"The endpoint {_backend.Target} failed a first request: {probe.Stream.Record.Failure ?? probe.Stream.Error.Message}");
        }

        StartServerMetrics();
        _details = new Dictionary<string, object?>(Endpoint.Details)
        {
            ["endpoint"] = _backend.Target,
            ["output_length_control"] = _connection.OutputLengthControl,
            ["tokenizer"] = _connection.Tokenizer?.Name,
            ["batch"] = 1,
            ["prompt_tokens"] = first.InputTokens,
            ["new_tokens"] = first.OutputTokens,
            ["server_metrics_url"] = _scraper?.Url.ToString(),
        };
        foreach ((string k, object? v) in _dataset.Details())
        {
            _details[k] = v;
        }

        if (_options.ModelConfig is { } model)
        {
            // What the server is said to serve (--model-config): the shape that cost and projection use.
            foreach ((string k, object? v) in GenerateSettingsFacts(model))
            {
                _details[k] = v;
            }
        }

        return new WorkloadDescription("tokens", first.InputTokens, first.OutputTokens, _details);
    }

    public void Execute(RequestContext ctx)
    {
        Worker w = _workers[ctx.WorkerIndex];
        long index = ctx.Item >= 0 ? ctx.Item : Interlocked.Increment(ref _next) - 1;
        PromptItem item = Item(index);
        IReadOnlyList<LlmMessage> messages = item.Messages;
        List<LlmMessage>? history = null;
        if (item.Session is { } session && ctx.Item >= 0)
        {
            lock (_sessions)
            {
                history = _sessions.TryGetValue(session, out List<LlmMessage>? h) ? h : _sessions[session] = [];
                messages = [.. history, .. item.Messages];
            }
        }

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
            lock (_sessions)
            {
                history.AddRange(item.Messages);
                history.Add(LlmMessage.Assistant(r.Answer.ToString()));
            }
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
        double cpu = _workers.Sum(w => TimeSpan.FromTicks(w.CpuTicks).TotalSeconds);
        long ok = _workers.Sum(w => w.Ok);
        long held = _workers.Sum(w => w.Held);
        long checkedHeld = _workers.Sum(w => w.Checked);
        // The mean number of requests in flight (SGLang's "concurrency"): what projection reads as the batch.
        double inFlight = window > 0 ? _workers.Sum(w => w.BusyTicks) / (double)run.Frequency / window : 0;
        _details["batch"] = Math.Max(1, (int)Math.Round(inFlight));
        _details["mean_requests_in_flight"] = Math.Round(inFlight, 3);
        if (ok > 0)
        {
            _details["prompt_tokens"] = (int)Math.Round(_workers.Sum(w => w.PromptRequested) / (double)ok);
            _details["new_tokens"] = (int)Math.Round(_workers.Sum(w => w.OutputRequested) / (double)ok);
        }

        return
        [
            new(MetricCatalog.OutputTokensPerS, window > 0 ? run.OutputUnits / window : null),
            new(MetricCatalog.ClientCpuCores, window > 0 ? cpu / window : null, "worker threads' CPU while their requests ran; the dispatcher and the engine's bookkeeping are not counted"),
            new(MetricCatalog.ClientCpuUsPerToken, run.OutputUnits > 0 ? cpu * 1e6 / run.OutputUnits : null),
            new(MetricCatalog.OutputLengthHeld, checkedHeld > 0 ? (double)held / checkedHeld : null, $"held with {_connection?.OutputLengthControl ?? "none"}"),
            new(MetricCatalog.ConnectionRetries, _workers.Sum(w => w.Retries.Values.Sum())),
        ];
    }

    public IReadOnlyList<DerivedDistribution> DeriveDistributions(EngineResult run)
    {
        long f = run.Frequency;
        DistributionSummary? Merge(Func<Worker, SampleRecorder> pick) => DistributionSummary.From(SampleRecorder.Merge(f, _workers.Select(pick)));
        return
        [
            new(MetricCatalog.TtfoMs, Merge(w => w.Ttfo)),
            new(MetricCatalog.ItlEventMs, Merge(w => w.ItlEvent)),
            new(MetricCatalog.TtftFromSendMs, Merge(w => w.TtftFromSend)),
            new(MetricCatalog.LatencyFromSendMs, Merge(w => w.LatencyFromSend)),
            new(MetricCatalog.SendLagMs, Merge(w => w.SendLag), "every request that was sent, ok or not"),
        ];
    }

    public IReadOnlyList<ValidityCondition> Conditions(EngineResult run)
    {
        var list = new List<ValidityCondition>();
        long ok = run.Count(RequestOutcome.Ok);
        list.Add(new("requests_ok", ok > 0, ok > 0
            ? string.Create(CultureInfo.InvariantCulture, $"{ok} of {run.TotalRequests} requests ended ok")
            : $"every one of the {run.TotalRequests} requests failed: nothing was measured"));

        double window = run.WindowSeconds;
        double cpu = _workers.Sum(w => TimeSpan.FromTicks(w.CpuTicks).TotalSeconds);
        double cores = window > 0 ? cpu / window : 0;
        list.Add(new("client_cpu", cores <= MaxClientCores, string.Create(CultureInfo.InvariantCulture,
            $"the client's threads used {cores:0.###} cores over the window; above {MaxClientCores} the client may be the bottleneck")));

        SampleRecorder lag = SampleRecorder.Merge(run.Frequency, _workers.Select(w => w.SendLag));
        if (lag.Count > 0)
        {
            double p99 = lag.ValueAtPercentile(0.99) * 1000.0 / run.Frequency;
            double gap = window * 1000.0 / Math.Max(1, run.TotalRequests);
            double limit = Math.Max(2.0, 0.05 * gap);
            list.Add(new("send_lag", p99 <= limit, string.Create(CultureInfo.InvariantCulture,
                $"requests were sent p99 {p99:0.###} ms after they were due; at most max(2 ms, 5% of the mean gap between arrivals {gap:0.###} ms) = {limit:0.###} ms")));
        }

        return list;
    }

    public ServingReport Serving(EngineResult run)
    {
        var report = new ServingReport
        {
            Endpoint = _backend.Target ?? _backend.ToString(),
            Model = Endpoint.Details.GetValueOrDefault("model") as string,
            Api = Endpoint.Details.GetValueOrDefault("api") as string,
            Dataset = _dataset?.Spec ?? "",
            Tokenizer = _connection?.Tokenizer?.Name,
            OutputLengthControl = _connection?.OutputLengthControl ?? "none",
            ClientCount = _connection?.Tokenizer is null ? "events" : "tokenizer",
            ServerMetricsNote = _metricsNote,
        };
        EventTokenSource? source = null;
        foreach (Worker w in _workers)
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
        report.ServerMetrics = _scraper?.Report();
        return report;
    }

    public void Dispose()
    {
        _scraper?.Dispose();
        _connection?.Endpoint.Dispose();
    }

    private PromptItem Item(long index)
    {
        long wrapped = _dataset!.Count == int.MaxValue ? index : index % _dataset.Count;
        return wrapped < _prepared.Length ? _prepared[wrapped] : _dataset.Item(wrapped);
    }

    private static PromptItem[] Prepared(PromptDataset dataset)
    {
        var items = new List<PromptItem>();
        long chars = 0;
        for (int i = 0; i < Math.Min(PreparedItems, dataset.Count) && chars < PreparedChars; i++)
        {
            PromptItem item = dataset.Item(i);
            chars += item.Messages.Sum(m => (long)m.Content.Length);
            items.Add(item);
        }

        return [.. items];
    }

    private void StartServerMetrics()
    {
        string? option = _options.ServerMetrics;
        if (option is "off" or "none")
        {
            _metricsNote = "not scraped (--server-metrics off)";
            return;
        }

        Uri? url = option is null ? _connection!.MetricsUrl : Uri.TryCreate(option, UriKind.Absolute, out Uri? given) && given.Scheme is "http" or "https"
            ? given
            : throw HarnessException.BadInput($"--server-metrics '{option}' is not an http:// or https:// URL (or 'off').");
        if (url is null)
        {
            _metricsNote = "the endpoint names no metrics URL";
            return;
        }

        var scraper = new ServerMetricsScraper(url, _clock, TimeSpan.FromSeconds(1));
        if (scraper.Probe() is { } why)
        {
            scraper.Dispose();
            _metricsNote = $"no metrics at {url}: {why}";
            if (option is not null)
            {
                throw HarnessException.BadInput($"--server-metrics {url} did not answer: {why}.");
            }

            return;
        }

        _scraper = scraper;
    }

    private static Dictionary<string, object?> GenerateSettingsFacts(Backends.DecoderConfig model)
    {
        var cost = new Models.DecoderCost(model);
        return new Dictionary<string, object?>
        {
            ["model_config"] = model.Name,
            ["model_shape_hash"] = model.ShapeHash(),
            ["parameters"] = cost.ParameterCount,
            ["non_embedding_parameters"] = cost.NonEmbeddingParams,
        };
    }

    /// <summary>One worker's stream and what it measured in the window.</summary>
    private sealed class Worker(long frequency)
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
    private sealed class WorkerStream : IRecordingLlmStream
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

        public void Completed(LlmRequest request, LlmCompletion completion, long timestamp) => Cancelled = completion == LlmCompletion.Cancelled;

        public void Failed(LlmRequest request, Exception error) => Error = error;
    }
}

/// <summary>A request the endpoint answered with a failure (an HTTP error, a reset, a malformed or cut stream); its message is the reason.</summary>
public sealed class RequestFailedException(string reason) : Exception(reason);
