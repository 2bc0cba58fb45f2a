using System.Text.Json;
using System.Text.Json.Serialization;
using Harness.Hardware;
using Harness.Measurement;
using Harness.Metrics;
using Harness.Telemetry;
using Harness.Validity;

namespace Harness.Results;

/// <summary>
/// The result file (schema/result.schema.json). Names are stable: scripts and CI gates read them.
/// Add fields freely; rename or remove only with a new <see cref="SchemaVersion"/>.
/// </summary>
public sealed class ResultDocument
{
    public const int CurrentSchemaVersion = 1;

    public int SchemaVersion { get; set; } = CurrentSchemaVersion;

    public string HarnessVersion { get; set; } = "";

    public string Workload { get; set; } = "";

    public string Backend { get; set; } = "";

    public string Scenario { get; set; } = "";

    public DateTime StartedUtc { get; set; }

    public bool Valid { get; set; }

    public bool Cancelled { get; set; }

    /// <summary>completed | tail_rule | max_duration | cancelled | overloaded.</summary>
    public string StopReason { get; set; } = "";

    /// <summary>
    /// Why measuring stopped, in a sentence (e.g. "tail rule: 459 ttft samples for p99 (ttft SLO), 460 measured; ...");
    /// null when not told.
    /// </summary>
    public string? StopDetail { get; set; }

    public List<ValidityCondition> Validity { get; set; } = [];

    /// <summary>The effective settings, flattened; enough to rerun the same measurement.</summary>
    public Dictionary<string, object?> Config { get; set; } = [];

    public HardwareFingerprint? Hardware { get; set; }

    public ResultMetrics Metrics { get; set; } = new();

    /// <summary>For each tail percentile: the ok requests it needs (early stopping, 99%) and whether the run had them.</summary>
    public List<TailSufficiency> TailSufficiency { get; set; } = [];

    public List<ErrorCount> Errors { get; set; } = [];

    /// <summary>What the hardware samplers saw in the measured window; says why when there was nothing to read.</summary>
    public TelemetryReport? Telemetry { get; set; }

    /// <summary>Per-request samples for statistical comparison (the CI gate).</summary>
    public ResultSamples? Samples { get; set; }

    /// <summary>The formula behind each metric, as computed in this file.</summary>
    public Dictionary<string, string> MetricDefinitions { get; set; } = [];

    /// <summary>
    /// The sections higher layers own (<c>serving</c>, <c>agents</c>: <see cref="ResultSections"/>), by their top-level key,
    /// and any top-level key of a read file this build does not model, kept as read (a <see cref="JsonElement"/>) so that
    /// a file written again loses nothing. Written after the document's own fields. Read them with <see cref="Section{T}"/>.
    /// </summary>
    [JsonExtensionData]
    public Dictionary<string, object?>? Sections { get; set; }

    /// <summary>Per-window counts of one side of a duet pair (harness ab --duet); null for any other run.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public DuetWindows? Duet { get; set; }

    /// <summary>
    /// The section of type <typeparamref name="T"/> (registered with <see cref="ResultSections.Register{T}"/>); null when the
    /// document has none. A section read from a file is read into <typeparamref name="T"/> once and kept, so changes to it stay.
    /// </summary>
    public T? Section<T>()
        where T : class
    {
        string key = ResultSections.KeyOf<T>();
        return SectionValue(key) switch
        {
            null => null,
            T typed => typed,
            var other => throw new InvalidOperationException($"result section '{key}' holds a {other.GetType().Name}, not a {typeof(T).Name}"),
        };
    }

    /// <summary>The payload under <paramref name="key"/>, read into its registered type the first time (and kept).</summary>
    internal object? SectionValue(string key)
    {
        object? raw = Sections?.GetValueOrDefault(key);
        if (raw is JsonElement element && ResultSections.Find(key) is { } registration)
        {
            object? read = element.ValueKind == JsonValueKind.Null ? null : registration.Read(element);
            Sections![key] = read;
            return read;
        }

        return raw;
    }

    /// <summary>Sets (or, with null, removes) the section of type <typeparamref name="T"/>.</summary>
    public void SetSection<T>(T? value)
        where T : class
    {
        string key = ResultSections.KeyOf<T>();
        if (value is null)
        {
            Sections?.Remove(key);
            return;
        }

        Sections ??= [];
        Sections[key] = value;
    }

    /// <summary>Adds a section a measurement produced (its payload typed by the layer that made it).</summary>
    public void Add(ResultSection section)
    {
        Sections ??= [];
        Sections[section.Key] = section.Value;
    }
}

public sealed class ResultMetrics
{
    public long RequestsOk { get; set; }

    /// <summary>Errors plus timeouts.</summary>
    public long RequestsFailed { get; set; }

    public long RequestsError { get; set; }

    public long RequestsTimeout { get; set; }

    public long RequestsCancelled { get; set; }

    public long WarmupRequests { get; set; }

    /// <summary>Length of the measured window in seconds.</summary>
    public double DurationS { get; set; }

    /// <summary>Output work units (samples or tokens) of ok requests per second of the window.</summary>
    public double ThroughputPerS { get; set; }

    /// <summary>What <see cref="ThroughputPerS"/> counts: "samples" or "tokens".</summary>
    public string ThroughputUnit { get; set; } = "samples";

    public double RequestsPerS { get; set; }

    public long InputUnits { get; set; }

    public long OutputUnits { get; set; }

    public DistributionSummary? LatencyMs { get; set; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public DistributionSummary? TtftMs { get; set; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public DistributionSummary? TpotMs { get; set; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public DistributionSummary? ItlMs { get; set; }

    /// <summary>Energy of the device the backend ran on over the window (telemetry.energy); null where not measured.</summary>
    public double? EnergyJ { get; set; }

    /// <summary>Energy / window; null where energy was not measured.</summary>
    public double? AvgPowerW { get; set; }

    /// <summary>Energy per output unit (<see cref="ThroughputUnit"/>) of the ok requests; null where not measured.</summary>
    public double? JoulesPerUnit { get; set; }

    /// <summary>Energy per output token, for token workloads; null for other units or where not measured.</summary>
    public double? JoulesPerToken { get; set; }

    /// <summary>Metrics added by later features (energy, cost, MFU...): name to value, null where not measured.</summary>
    [JsonExtensionData]
    public Dictionary<string, object?>? Extra { get; set; }

    /// <summary>
    /// A one-number metric of the catalog, wherever it is kept (a typed field or <see cref="Extra"/>);
    /// null when the result does not carry it or it is not a number.
    /// </summary>
    public double? Value(MetricDefinition metric) =>
        TypedValues.TryGetValue(metric.Key, out Func<ResultMetrics, double?>? typed) ? typed(this)
        : metric.IsDistribution ? null
        : DocumentValues.Number(Extra?.GetValueOrDefault(metric.Key)) is { } v && double.IsFinite(v) ? v : null;

    /// <summary>A distribution metric of the catalog (latency, TTFT, TPOT, ITL...); null when absent.</summary>
    public DistributionSummary? Distribution(MetricDefinition metric) =>
        TypedDistributions.TryGetValue(metric.Key, out DistributionField? typed)
            ? typed.Get(this)
            : metric.IsDistribution && Extra?.GetValueOrDefault(metric.Key) is { } raw
                && DocumentValues.AsElement(raw) is { ValueKind: JsonValueKind.Object } e ? e.Deserialize<DistributionSummary>(ResultJson.Options)
            : metric.IsDistribution ? Extra?.GetValueOrDefault(metric.Key) as DistributionSummary
            : null;

    /// <summary>Sets a distribution metric of the catalog, in its typed field or under <see cref="Extra"/>.</summary>
    public void SetDistribution(MetricDefinition metric, DistributionSummary? summary)
    {
        if (!metric.IsDistribution)
        {
            throw new ArgumentException($"metric '{metric.Key}' is not a distribution", nameof(metric));
        }

        if (TypedDistributions.TryGetValue(metric.Key, out DistributionField? typed))
        {
            typed.Set(this, summary);
            return;
        }

        Extra ??= [];
        Extra[metric.Key] = summary;
    }

    /// <summary>The catalog distributions this class holds as typed fields.</summary>
    private static readonly Dictionary<string, DistributionField> TypedDistributions =
        new(StringComparer.Ordinal)
        {
            [MetricCatalog.LatencyMs.Key] = new(m => m.LatencyMs, (m, v) => m.LatencyMs = v),
            [MetricCatalog.TtftMs.Key] = new(m => m.TtftMs, (m, v) => m.TtftMs = v),
            [MetricCatalog.TpotMs.Key] = new(m => m.TpotMs, (m, v) => m.TpotMs = v),
            [MetricCatalog.ItlMs.Key] = new(m => m.ItlMs, (m, v) => m.ItlMs = v),
        };

    private sealed record DistributionField(Func<ResultMetrics, DistributionSummary?> Get, Action<ResultMetrics, DistributionSummary?> Set);

    /// <summary>Sets a one-number metric that has no typed field (non-finite values are stored as null).</summary>
    public void Set(MetricDefinition metric, double? value)
    {
        if (metric.IsDistribution || TypedValues.ContainsKey(metric.Key))
        {
            throw new ArgumentException($"metric '{metric.Key}' is not a one-number extra", nameof(metric));
        }

        Extra ??= [];
        Extra[metric.Key] = value is { } v && double.IsFinite(v) ? v : null;
    }

    /// <summary>The catalog metrics this class holds as typed fields.</summary>
    private static readonly Dictionary<string, Func<ResultMetrics, double?>> TypedValues = new(StringComparer.Ordinal)
    {
        [MetricCatalog.RequestsOk.Key] = m => m.RequestsOk,
        [MetricCatalog.RequestsFailed.Key] = m => m.RequestsFailed,
        [MetricCatalog.RequestsError.Key] = m => m.RequestsError,
        [MetricCatalog.RequestsTimeout.Key] = m => m.RequestsTimeout,
        [MetricCatalog.RequestsCancelled.Key] = m => m.RequestsCancelled,
        [MetricCatalog.WarmupRequests.Key] = m => m.WarmupRequests,
        [MetricCatalog.DurationS.Key] = m => m.DurationS,
        [MetricCatalog.ThroughputPerS.Key] = m => m.ThroughputPerS,
        [MetricCatalog.RequestsPerS.Key] = m => m.RequestsPerS,
        [MetricCatalog.InputUnits.Key] = m => m.InputUnits,
        [MetricCatalog.OutputUnits.Key] = m => m.OutputUnits,
        [MetricCatalog.EnergyJ.Key] = m => m.EnergyJ,
        [MetricCatalog.AvgPowerW.Key] = m => m.AvgPowerW,
        [MetricCatalog.JoulesPerUnit.Key] = m => m.JoulesPerUnit,
        [MetricCatalog.JoulesPerToken.Key] = m => m.JoulesPerToken,
    };
}

public sealed record TailSufficiency(string Percentile, long Needed, long Had, bool Sufficient);

public sealed class ResultSamples
{
    /// <summary>Latencies of ok requests in milliseconds, in completion order per worker.</summary>
    public double[] LatencyMs { get; set; } = [];

    /// <summary>1 when every ok request is here; k when every k-th was kept to bound the file size.</summary>
    public int Stride { get; set; } = 1;
}
