using System.Globalization;
using System.Text;
using Harness.Formatting;
using Harness.Measurement;
using Harness.Metrics;
using static System.FormattableString;
using static Harness.Formatting.MarkdownColumn;

namespace Harness.Results;

/// <summary>The short Markdown summary printed to the terminal after a run.</summary>
public static class MarkdownSummary
{
    /// <summary>Derived metrics worth a line in the terminal (all are in the file).</summary>
    private static readonly MetricDefinition[] DerivedShown =
    [
        MetricCatalog.PrefillTokensPerS, MetricCatalog.OutputTokensPerS, MetricCatalog.DecodeTokensPerS, MetricCatalog.Mfu, MetricCatalog.Mbu,
        MetricCatalog.MfuMeasured, MetricCatalog.MbuMeasured, MetricCatalog.AchievedTflops, MetricCatalog.AchievedGbPerS, MetricCatalog.FractionOfPeak,
        MetricCatalog.JobsPerHour, MetricCatalog.LlmBusyFraction, MetricCatalog.UsdPerMtok, MetricCatalog.UsdPerJob,
        MetricCatalog.ClientCpuCores, MetricCatalog.ClientCpuUsPerToken, MetricCatalog.OutputLengthHeld,
    ];

    /// <summary>The distributions of the latency table, in its order.</summary>
    private static readonly MetricDefinition[] Distributions =
        [MetricCatalog.LatencyMs, MetricCatalog.TurnLatencyMs, MetricCatalog.TtftMs, MetricCatalog.TtfoMs, MetricCatalog.TpotMs, MetricCatalog.ItlMs, MetricCatalog.ItlEventMs, MetricCatalog.SendLagMs];

    public static string Render(ResultDocument doc, string? path = null)
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.Append(c, $"### {doc.Workload} on {doc.Backend}, {doc.Scenario}: {(doc.Valid ? "VALID" : "INVALID")}{(doc.Cancelled ? " (cancelled)" : "")}\n\n");
        if (doc.ConfigText(ConfigKeys.WeightQuantization) is { } quantization)
        {
            sb.Append(c, $"Weights: {quantization}.\n\n");
        }
        else if (doc.ConfigText(ConfigKeys.ModelDequantized) is { } dequantized)
        {
            sb.Append(c, $"Weights: {dequantized}.\n\n");
        }

        ResultMetrics m = doc.Metrics;
        if (m.RequestsOk + m.RequestsFailed + m.RequestsCancelled > 0 || m.LatencyMs is not null)
        {
            new MarkdownTable(Right("requests ok"), Right("failed"), Right("duration"), Right("throughput"), Right("req/s"))
                .Row(Invariant($"{m.RequestsOk}"), Invariant($"{m.RequestsFailed}"), Invariant($"{m.DurationS:0.0} s"),
                    Invariant($"{m.ThroughputPerS:0.##} {m.ThroughputUnit}/s"), Invariant($"{m.RequestsPerS:0.##}"))
                .AppendTo(sb).Append('\n');
        }
        else
        {
            // A run without requests (agents) counts its own work: its section's lines say what.
            new MarkdownTable(Right("duration"), Right("throughput"))
                .Row(Invariant($"{m.DurationS:0.0} s"), Invariant($"{m.ThroughputPerS:0.##} {m.ThroughputUnit}/s"))
                .AppendTo(sb).Append('\n');
        }

        if (doc.StopReason is "tail_rule" or "max_duration" && doc.StopDetail is { } stopped)
        {
            sb.Append(c, $"Stopped: {stopped}.\n\n");
        }

        var latency = new MarkdownTable(Left("ms"), Right("p50"), Right("p90"), Right("p95"), Right("p99"), Right("p99.9"), Right("mean"),
            Right("min"), Right("max"), Left("median 95% CI"));
        foreach (MetricDefinition d in Distributions)
        {
            Row(latency, d.Label, m.Distribution(d));
        }

        latency.AppendTo(sb);

        if (m.Value(MetricCatalog.GoodputPerS) is { } goodput && m.Value(MetricCatalog.SloMetRequests) is { } met)
        {
            sb.Append(c, $"\nGoodput: {goodput:0.##} req/s ({met} of {m.RequestsOk + m.RequestsFailed} requests met every SLO)");
            if (m.Value(MetricCatalog.GoodputTokensPerS) is { } tokens)
            {
                sb.Append(c, $", {tokens:0.#} tokens/s");
            }

            sb.Append(".\n");
        }

        // The sections' own lines (the server's metrics of a run against an endpoint...), by their registrations.
        foreach (string key in doc.Sections?.Keys.ToList() ?? [])
        {
            if (ResultSections.Find(key) is { Summary: { } summary } && doc.SectionValue(key) is { } value)
            {
                summary(sb, value, doc);
            }
        }

        Energy(sb, doc);
        var derived = DerivedShown.Select(d => (Metric: d, Value: m.Value(d))).Where(x => x.Value is not null).ToList();
        if (derived.Count > 0)
        {
            // Workload-derived metrics (tokens/s, MFU, MBU, achieved FLOP/s...); formulas are in the file.
            sb.Append('\n').Append(string.Join(" · ", derived.Select(x => $"{x.Metric.Key} {x.Value!.Value.ToString(x.Metric.Format, c)}"))).Append('\n');
        }
        var few = doc.TailSufficiency.Where(t => !t.Sufficient).Select(t => t.Percentile).ToList();
        if (few.Count > 0)
        {
            sb.Append(c, $"\nFew samples for {string.Join(", ", few)} (early-stopping bound not met): read those tails as indicative.\n");
        }

        var failed = doc.Validity.Where(v => !v.Passed).ToList();
        if (failed.Count > 0)
        {
            sb.Append("\nFailed conditions:\n");
            foreach (var v in failed)
            {
                sb.Append(c, $"- {v.Name}: {v.Detail}\n");
            }
        }

        foreach (var e in doc.Errors.Take(3))
        {
            sb.Append(c, $"- error x{e.Count}: {e.Message}\n");
        }

        if (path is not null)
        {
            sb.Append(c, $"\nResult: {path}\n");
        }

        return sb.ToString();
    }

    private static void Energy(StringBuilder sb, ResultDocument doc)
    {
        var c = CultureInfo.InvariantCulture;
        if (doc.Telemetry is not { } t)
        {
            return;
        }

        if (t.Energy is { } e)
        {
            sb.Append(c, $"\nEnergy ({string.Join(" + ", e.Parts)}, {e.Method}): {e.EnergyJ:0.###} J, {e.AvgPowerW:0.#} W average");
            if (e.JoulesPerUnit is { } j)
            {
                sb.Append(c, $", {j:0.####} J per {Singular(e.Unit)}");
            }

            sb.Append('\n');
        }

        if (t.NodeEnergy is { } n)
        {
            sb.Append(c, $"Node energy ({string.Join(" + ", n.Parts)}): {n.EnergyJ:0.###} J, {n.AvgPowerW:0.#} W average\n");
        }

        foreach (var g in t.Gpus)
        {
            sb.Append(c, $"GPU {g.Index}: busy {g.BusyFraction:P0}, {g.PowerAvgW:0.#} W avg / {g.PowerPeakW:0.#} W peak, throttled {g.ThrottleS ?? 0:0.#} s\n");
        }

        if (t.Cpu is { } cpu)
        {
            string own = cpu.ProcessCpuCores is { } cores ? cores.ToString("0.##", c) : "n/a";
            sb.Append(c, $"CPU: {cpu.UtilizationAvg:P0} busy over {cpu.LogicalCores} cores; harness process {own} cores, peak RSS {cpu.ProcessRssPeakBytes / (1024.0 * 1024):0} MiB\n");
        }

        if (t.Server is { } server)
        {
            sb.Append(ServerLine(server, doc.Metrics)).Append('\n');
        }

        if (t.Note is { } note)
        {
            sb.Append(c, $"Telemetry: {note}\n");
        }
    }

    /// <summary>"Server under test (PID 4242 dotnet, listens on port 8000, 2 processes): 0.98 cores, ...", or why not measured.</summary>
    public static string ServerLine(Telemetry.ServerProcessTelemetry server, ResultMetrics m)
    {
        var c = CultureInfo.InvariantCulture;
        string who = server.Pids.Count == 0 ? "" : $" ({ServerWho(server)})";
        if (server.CpuCores is not { } cores)
        {
            return $"Server under test{who}: {server.Note ?? "server CPU not measured"}";
        }

        string perToken = m.Value(MetricCatalog.ServerCpuSPerToken) is { } s
            ? string.Create(c, $", {s * 1000:0.###} CPU-ms per output token")
            : "";
        string rss = server.RssPeakBytes is { } b ? string.Create(c, $", peak RSS {b / (1024.0 * 1024):0} MiB") : "";
        return string.Create(c, $"Server under test{who}: {cores:0.###} cores{perToken}{rss} (not counted as disturbance)");
    }

    /// <summary>"PID 4242 dotnet, listens on port 8000, 2 processes": the server's processes and how they were found.</summary>
    public static string ServerWho(Telemetry.ServerProcessTelemetry server) =>
        $"PID {string.Join(", ", server.Pids)}{(server.Command is { } cmd ? " " + cmd : "")}, {server.How}"
        + (server.Processes is > 1 ? $", {server.Processes} processes" : "");

    private static string Singular(string unit) => unit.EndsWith('s') ? unit[..^1] : unit;

    private static void Row(MarkdownTable table, string name, DistributionSummary? d)
    {
        if (d is null)
        {
            return;
        }

        string ci = d.MedianCiLow is { } lo && d.MedianCiHigh is { } hi ? Invariant($"{lo:0.###}-{hi:0.###}") : "n/a";
        table.Row(name, Invariant($"{d.P50:0.###}"), Invariant($"{d.P90:0.###}"), Invariant($"{d.P95:0.###}"), Invariant($"{d.P99:0.###}"),
            Invariant($"{d.P999:0.###}"), Invariant($"{d.Mean:0.###}"), Invariant($"{d.Min:0.###}"), Invariant($"{d.Max:0.###}"), ci);
    }
}
