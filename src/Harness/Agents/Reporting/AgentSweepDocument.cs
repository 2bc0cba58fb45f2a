using Harness.Hardware;
using Harness.Measurement;
using Harness.Metrics;

namespace Harness.Agents.Reporting;

/// <summary>
/// The file <c>harness agents sweep</c> writes: the curve of LLM busy fraction and jobs per hour
/// against tool workers, and the cores per GPU that keep the LLM device 90% busy. Names are stable:
/// add freely, rename only with a new <see cref="SchemaVersion"/>.
/// </summary>
public sealed class AgentSweepDocument
{
    public int SchemaVersion { get; set; } = 1;

    public string Kind { get; set; } = "agents_sweep";

    public string HarnessVersion { get; set; } = "";

    public DateTime StartedUtc { get; set; }

    public string Profile { get; set; } = "";

    public string? ProfilePath { get; set; }

    public Dictionary<string, object?> ProfileConfig { get; set; } = [];

    public int Agents { get; set; }

    public string Llm { get; set; } = "";

    public Dictionary<string, object?> LlmDetails { get; set; } = [];

    public int MaxBatch { get; set; }

    public string Batching { get; set; } = "";

    /// <summary>Logical cores of the machine that ran the tools.</summary>
    public int Cores { get; set; }

    public double WarmupS { get; set; }

    public double DurationS { get; set; }

    public int Seed { get; set; }

    /// <summary>The offer each point was priced with (--instance/--price), as in a result's config.price; null when none.</summary>
    public object? Price { get; set; }

    public bool Cancelled { get; set; }

    public HardwareFingerprint? Hardware { get; set; }

    public List<AgentSweepPoint> Points { get; set; } = [];

    /// <summary>The fewest tool-worker cores per GPU (LLM device) that keep it at least 90% busy; null when unknown or unreachable.</summary>
    [System.Text.Json.Serialization.JsonPropertyName("cores_per_gpu_for_90pct_busy")]
    public int? CoresPerGpuFor90pctBusy { get; set; }

    /// <summary>The crossing of 90% interpolated between the neighbouring points.</summary>
    public double? CoresPerGpuInterpolated { get; set; }

    /// <summary>measured | projected | unreachable | unknown.</summary>
    public string CoresPerGpuBasis { get; set; } = "unknown";

    public string CoresPerGpuNote { get; set; } = "";

    /// <summary>Simulated curve for this run's LLM with the tool costs measured here (latency-model LLM only).</summary>
    public AgentProjection? Projection { get; set; }

    /// <summary>The same for other cards' latency-model numbers (<c>--card</c>).</summary>
    public List<AgentProjection> Projections { get; set; } = [];

    /// <summary>The measured tool costs that the projections draw from.</summary>
    public Dictionary<string, ToolCostSummary> ToolCosts { get; set; } = [];

    public Dictionary<string, string> Definitions { get; set; } = new()
    {
        ["cores_per_gpu_for_90pct_busy"] = "fewest tool workers (one core each, one tool call at a time) at which llm_busy_fraction >= 0.90 for the profile's agents per GPU; measured when a sweep point reaches it, else from simulating the same scheduler (same jobs, same batching) with each call's service time drawn from the CPU time (worker thread plus subprocesses) of the calls measured here on at most as many workers as cores: a dedicated core runs these CPU-bound tools in about their CPU time, whatever else loaded this machine",
        [MetricCatalog.LlmBusyFraction.Key] = MetricCatalog.LlmBusyFraction.Definition,
        [MetricCatalog.JobsPerHour.Key] = MetricCatalog.JobsPerHour.Definition,
        ["simulated_llm_busy_fraction"] = "the simulation's value at the point's worker count: how well the projection matches the measurement",
        ["oversubscribed"] = "more workers than logical cores here: tool calls share cores, so the point says little about more cores",
    };
}

/// <summary>
/// One measured worker count of a sweep. Its figures are those of the point's <see cref="AgentRunReport"/>, copied by
/// <see cref="From"/> rather than shared: this file lists them in another order than a result's agents section
/// (llm_busy_fraction before jobs_completed here, after it there), so neither a shared base type nor one
/// [JsonPropertyOrder] per property writes both files unchanged, and a converter that flattens the report into the
/// point would be longer than the copy. AgentSweepPointTests pins the keys, their order and their number formatting.
/// </summary>
public sealed class AgentSweepPoint
{
    public int Workers { get; set; }

    public bool Oversubscribed { get; set; }

    public double WindowS { get; set; }

    public double LlmBusyFraction { get; set; }

    public double LlmActiveFraction { get; set; }

    public double? SimulatedLlmBusyFraction { get; set; }

    public double JobsPerHour { get; set; }

    public double TurnsPerS { get; set; }

    public double TokensPerS { get; set; }

    public double LlmMeanDecodeBatch { get; set; }

    public double? CpuUtilization { get; set; }

    public double ToolWorkerBusyFraction { get; set; }

    public double ToolShareOfTurnTime { get; set; }

    public double? ToolQueueMsP50 { get; set; }

    public double? ToolQueueMsP90 { get; set; }

    public double? ToolLatencyMsP50 { get; set; }

    public long JobsCompleted { get; set; }

    /// <summary>Turns per agent in the window; under 3 the point is a transient, not steady state.</summary>
    public double TurnsPerAgent { get; set; }

    public long ToolCalls { get; set; }

    public long ToolCallsFailed { get; set; }

    /// <summary>The point's cost per job under <see cref="AgentSweepDocument.Price"/> (its result's usd_per_job).</summary>
    public double? UsdPerJob { get; set; }

    /// <summary>The point's result file, beside the sweep document; a full path when one of them lies elsewhere (rescued to a temporary folder).</summary>
    public string? Result { get; set; }

    /// <summary>1-minute load average at the end of the point: above the cores here, other processes shared them.</summary>
    public double? LoadAverage1m { get; set; }

    public static AgentSweepPoint From(AgentRunReport r, bool oversubscribed, double? usdPerJob = null, string? result = null) => new()
    {
        Result = result,
        UsdPerJob = usdPerJob,
        LoadAverage1m = r.LoadAverage1m,
        Workers = r.Workers,
        Oversubscribed = oversubscribed,
        WindowS = r.WindowS,
        LlmBusyFraction = r.LlmBusyFraction,
        LlmActiveFraction = r.LlmActiveFraction,
        JobsPerHour = r.JobsPerHour,
        TurnsPerS = r.TurnsPerS,
        TokensPerS = r.TokensPerS,
        LlmMeanDecodeBatch = r.LlmMeanDecodeBatch,
        CpuUtilization = r.CpuUtilization,
        ToolWorkerBusyFraction = r.ToolWorkerBusyFraction,
        ToolShareOfTurnTime = r.ToolShareOfTurnTime,
        ToolQueueMsP50 = r.ToolQueueMs?.P50,
        ToolQueueMsP90 = r.ToolQueueMs?.P90,
        ToolLatencyMsP50 = r.ToolLatencyMs?.P50,
        JobsCompleted = r.JobsCompleted,
        TurnsPerAgent = r.TurnsPerAgent,
        ToolCalls = r.Tools.Values.Sum(t => t.Calls),
        ToolCallsFailed = r.Tools.Values.Sum(t => t.Calls - t.Ok),
    };

    public CurvePoint ToCurvePoint() => new(Workers, LlmBusyFraction, JobsPerHour, LlmActiveFraction);
}

/// <summary>Measured costs of one tool's ok calls: wall time on the worker, and the CPU time the projections use.</summary>
public sealed class ToolCostSummary
{
    public int Samples { get; set; }

    public double WallP50Ms { get; set; }

    public double WallP90Ms { get; set; }

    public double CpuMeanMs { get; set; }

    public double CpuP50Ms { get; set; }

    public double CpuP90Ms { get; set; }

    public double MeanOutputTokens { get; set; }

    public static ToolCostSummary From(IReadOnlyList<Scheduling.ToolSample> samples, long frequency)
    {
        double[] wall = samples.Select(s => s.ServiceTicks * 1000.0 / frequency).Order().ToArray();
        double[] cpu = samples.Select(s => s.Cpu.TotalMilliseconds).Order().ToArray();
        return new ToolCostSummary
        {
            Samples = wall.Length,
            WallP50Ms = Statistics.Percentile(wall, 0.5),
            WallP90Ms = Statistics.Percentile(wall, 0.9),
            CpuMeanMs = cpu.Average(),
            CpuP50Ms = Statistics.Percentile(cpu, 0.5),
            CpuP90Ms = Statistics.Percentile(cpu, 0.9),
            MeanOutputTokens = samples.Average(s => s.Tokens),
        };
    }
}

/// <summary>Reads sweep documents back (plan, report, tests), through the one result reader's checks.</summary>
public static class AgentSweepJson
{
    /// <summary>The sweep document at <paramref name="path"/>, or in the sweep folder <paramref name="path"/> names.</summary>
    public static AgentSweepDocument Read(string path)
    {
        string file = Directory.Exists(path) ? Path.Combine(path, Results.ResultReader.AgentSweepFileName) : path;
        System.Text.Json.Nodes.JsonObject raw = Results.ResultReader.ReadJson(file, "Agents sweep file");
        if (raw["kind"]?.GetValue<string>() != "agents_sweep")
        {
            throw HarnessException.BadInput($"Agents sweep file '{file}' is not an agents sweep (harness agents sweep writes one).");
        }

        Upgrade(raw);
        try
        {
            return System.Text.Json.JsonSerializer.Deserialize<AgentSweepDocument>(raw, Results.ResultJson.Options)
                ?? throw HarnessException.BadInput($"Agents sweep file '{file}' is empty.");
        }
        catch (System.Text.Json.JsonException e)
        {
            throw HarnessException.BadInput($"Agents sweep file '{file}' is not a valid agents sweep: {e.Message.Split('\n')[0]}", e);
        }
    }

    /// <summary>
    /// Sweeps written before the price became an offer (still schema version 1) named the price
    /// <c>price_per_gpu_hour</c> and each point's cost <c>cost_per_job_usd</c>; read as they are, both came
    /// back null and the $/job column said n/a. The figures are carried over under today's names, unchanged.
    /// </summary>
    private static void Upgrade(System.Text.Json.Nodes.JsonObject raw)
    {
        if (raw["price_per_gpu_hour"] is { } oldPrice && raw[ConfigKeys.Price] is null)
        {
            raw[ConfigKeys.Price] = new System.Text.Json.Nodes.JsonObject
            {
                ["value"] = oldPrice.DeepClone(),
                ["unit"] = "USD/gpu-h",
                ["source"] = "price_per_gpu_hour of a sweep written before the price was an offer",
            };
        }

        raw.Remove("price_per_gpu_hour");
        foreach (System.Text.Json.Nodes.JsonObject point in raw["points"]?.AsArray().OfType<System.Text.Json.Nodes.JsonObject>() ?? [])
        {
            if (point["cost_per_job_usd"] is { } cost && point[MetricCatalog.UsdPerJob.Key] is null)
            {
                point[MetricCatalog.UsdPerJob.Key] = cost.DeepClone();
            }

            point.Remove("cost_per_job_usd");
        }
    }
}
