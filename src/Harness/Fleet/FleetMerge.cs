using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Harness.Hardware;
using Harness.Measurement;
using Harness.Metrics;
using Harness.Results;
using Harness.Results.Validity;
using Harness.Telemetry;
using Harness.Trust;
using Harness.Trust.Comparability;

namespace Harness.Fleet;

/// <summary>How to merge a fleet's results.</summary>
public sealed record MergeOptions
{
    /// <summary>Robust deviations from the fleet median beyond which a node is flagged.</summary>
    public double K { get; init; } = 3.5;

    /// <summary>Relative distance from the median below which nothing is flagged (noise floor).</summary>
    public double MinDeviation { get; init; } = 0.02;

    /// <summary>Tasks the fleet ran; null: from fleet.json, else from the exit records, else unknown.</summary>
    public int? ExpectedTasks { get; init; }

    /// <summary>What the scheduler says about each task, to explain the ones without a result.</summary>
    public IReadOnlyList<SchedulerTaskState> SchedulerStates { get; init; } = [];

    public int LogTailLines { get; init; } = 10;

    public MergeOptions Validate()
    {
        if (!(K > 0) || double.IsInfinity(K))
        {
            throw HarnessException.BadInput($"--k must be a positive number of robust deviations, got {K.ToString(CultureInfo.InvariantCulture)}.");
        }

        if (!(MinDeviation >= 0) || MinDeviation >= 1)
        {
            throw HarnessException.BadInput($"--min-deviation must lie in [0, 1), got {MinDeviation.ToString(CultureInfo.InvariantCulture)}.");
        }

        if (ExpectedTasks is < 1)
        {
            throw HarnessException.BadInput($"--expect must be at least 1, got {ExpectedTasks}.");
        }

        return this;
    }
}

/// <summary>
/// Merges the result files of a fleet run into one <see cref="FleetSummary"/>: per-node figures,
/// aggregate, spread (median, MAD, min, max, CV) and outliers by a robust rule (MAD-scaled distance
/// from the fleet median, after Iglewicz and Hoaglin's modified z-score, plus a relative noise floor).
/// It never drops a node silently: every expected task, exit record and result file becomes a row,
/// with the reason when it is not OK.
/// </summary>
public static class FleetMerge
{
    /// <summary>Config entries that legitimately differ between the nodes of one suite.</summary>
    private static readonly HashSet<string> PerNodeConfig = ["command_line", "clock_frequency_hz"];

    /// <summary>What a node is judged on: its name in the fleet summary, and the catalog metric whose direction says which side is slow.</summary>
    private static readonly (string Name, string Label, MetricDefinition Metric)[] Judged =
    [
        (MetricCatalog.ThroughputPerS.Key, "throughput", MetricCatalog.ThroughputPerS),
        ("latency_p50_ms", "latency p50", MetricCatalog.LatencyMs),
        ("latency_p99_ms", "latency p99", MetricCatalog.LatencyMs),
    ];

    public static FleetSummary Merge(string folder, MergeOptions? options = null)
    {
        options = (options ?? new MergeOptions()).Validate();
        if (!Directory.Exists(folder))
        {
            throw HarnessException.BadInput($"The results folder '{folder}' does not exist.");
        }

        var layout = new FleetLayout(folder);
        FleetManifest? manifest = FleetManifest.TryRead(layout);
        Dictionary<int, (TaskExitRecord? Record, string? Problem)> exits = ReadExitRecords(layout);
        List<LoadedFile> files = FindResultFiles(layout).Select(f => LoadedFile.Load(f, folder)).ToList();
        int? expected = options.ExpectedTasks ?? manifest?.Tasks
            ?? (exits.Values.Select(e => e.Record?.Tasks ?? 0).DefaultIfEmpty(0).Max() is > 0 and var t ? t : null);
        if (files.Count == 0 && exits.Count == 0 && expected is null)
        {
            throw HarnessException.BadInput($"The folder '{folder}' holds no result files, no exit records and no fleet.json; nothing to merge.");
        }

        var summary = new FleetSummary
        {
            CreatedUtc = DateTime.UtcNow,
            Source = folder,
            JobId = manifest?.JobId is { Length: > 0 } id ? id : exits.Values.Select(e => e.Record?.JobId).FirstOrDefault(j => !string.IsNullOrEmpty(j)),
            Rule = new OutlierRule { K = options.K, MinDeviation = options.MinDeviation },
            ExpectedTasks = expected,
        };

        (FleetSuite? suite, string? suiteKey) = ChooseSuite(files);
        summary.Suite = suite;
        foreach (LoadedFile f in files.Where(f => f.Document is not null && f.SuiteKey != suiteKey))
        {
            f.Refusal = "another suite: " + DescribeDifference(suite!, SuiteOf(f.Document!));
        }

        summary.Nodes = BuildNodes(layout, files, exits, expected, options);
        Group(summary, files);
        FlagOutliers(summary);
        summary.Aggregate = Aggregate(summary.Nodes, files);
        summary.Healthy = summary.Nodes.Count > 0
            && summary.Nodes.All(n => n.Status == NodeStatus.Ok && !n.Outlier)
            && (expected is null || Enumerable.Range(0, expected.Value).All(i => summary.Nodes.Any(n => n.Task == i)));
        AddNotes(summary);
        return summary;
    }

    /// <summary>Writes the summary atomically as JSON, rescued to a temporary folder when its own cannot take it (<see cref="ResultWriter"/>).</summary>
    public static WrittenResult Write(FleetSummary summary, string path) =>
        ResultWriter.Write(path, JsonSerializer.Serialize(summary, ResultJson.Options));

    private static List<NodeSummary> BuildNodes(FleetLayout layout, List<LoadedFile> files, Dictionary<int, (TaskExitRecord? Record, string? Problem)> exits, int? expected, MergeOptions options)
    {
        var byTask = files.Where(f => f.Task is not null).GroupBy(f => f.Task!.Value).ToDictionary(g => g.Key, g => g.First());
        var states = options.SchedulerStates.GroupBy(s => s.Task).ToDictionary(g => g.Key, g => g.First());
        var tasks = new SortedSet<int>(byTask.Keys.Concat(exits.Keys).Concat(states.Keys));
        if (expected is { } n)
        {
            tasks.UnionWith(Enumerable.Range(0, n));
        }

        var nodes = new List<NodeSummary>();
        foreach (int task in tasks)
        {
            byTask.TryGetValue(task, out LoadedFile? file);
            exits.TryGetValue(task, out var exit);
            states.TryGetValue(task, out SchedulerTaskState? state);
            nodes.Add(BuildNode(layout, task, file, exit.Record, exit.Problem, state, options));
        }

        // Result files not named task-N.json (a folder of plain runs): one row each.
        foreach (LoadedFile file in files.Where(f => f.Task is null))
        {
            nodes.Add(BuildNode(layout, null, file, null, null, null, options));
        }

        return nodes;
    }

    private static NodeSummary BuildNode(FleetLayout layout, int? task, LoadedFile? file, TaskExitRecord? exit, string? exitProblem, SchedulerTaskState? state, MergeOptions options)
    {
        ResultDocument? doc = file?.Refusal is null ? file?.Document : null;
        var node = new NodeSummary
        {
            Task = task,
            File = file?.RelativePath,
            ExitCode = exit?.ExitCode,
            SchedulerState = state?.ToString(),
            Hostname = NonEmpty(exit?.Hostname) ?? file?.Document?.Hardware?.Hostname,
        };
        node.Name = NonEmpty(exit?.Node) ?? node.Hostname ?? NonEmpty(state?.Node) ?? (file is null ? "-" : Path.GetFileNameWithoutExtension(file.Path));
        string? schedulerNote = state is null ? null : $"; the scheduler says {state}";

        if (file?.Refusal is { } refusal)
        {
            node.Status = NodeStatus.Refused;
            node.Reason = refusal;
            return node;
        }

        if (doc is not null)
        {
            FillFigures(node, doc, file!.Raw!, exit);
            RunDisturbance disturbance = RunDisturbance.Of(doc, DisturbanceLimits.Default);
            var otherFailures = doc.Validity.Where(v => !v.Passed && v.Name != QuietHostRule.Name).ToList();
            node.Disturbance = disturbance.Disturbed ? string.Join("; ", disturbance.Causes) : null;
            if (doc.Cancelled)
            {
                node.Status = NodeStatus.Failed;
                node.Reason = $"the run was cancelled before it finished (stop reason {doc.StopReason}){schedulerNote}";
                node.LogTail = LogTail(layout, task, options.LogTailLines);
            }
            else if (disturbance.Blocks && otherFailures.Count == 0)
            {
                node.Status = NodeStatus.Disturbed;
                node.Reason = $"disturbed, not slow: {node.Disturbance}";
            }
            else if (doc.Valid)
            {
                node.Status = NodeStatus.Ok;
                node.Reason = exit is { ExitCode: not 0 } ? $"the result is valid but the task exited with {ExitMeaning(exit.ExitCode)}"
                    : node.Disturbance is { } noisy ? $"noisy (allowed): {noisy}; left out of the outlier rule"
                    : null;
            }
            else
            {
                node.Status = NodeStatus.Invalid;
                var failed = doc.Validity.Where(v => !v.Passed).Select(v => $"{v.Name}: {v.Detail}").ToList();
                node.Reason = "failed " + (failed.Count > 0 ? string.Join("; ", failed) : "a validity condition");
            }

            return node;
        }

        node.LogTail = LogTail(layout, task, options.LogTailLines);
        if (exit is not null)
        {
            node.Status = NodeStatus.Failed;
            node.Reason = $"exited with {ExitMeaning(exit.ExitCode)} and wrote no result{schedulerNote}";
        }
        else if (exitProblem is not null)
        {
            node.Status = NodeStatus.Failed;
            node.Reason = $"no result, and {exitProblem}{schedulerNote}";
        }
        else if (state is { IsActive: true })
        {
            node.Status = NodeStatus.Missing;
            node.Reason = $"no result yet: the task is {state}";
        }
        else if (state is not null)
        {
            node.Status = NodeStatus.Missing;
            node.Reason = $"no result and no exit record: the task ended as {state}";
        }
        else
        {
            node.Status = NodeStatus.Missing;
            node.Reason = "no result and no exit record: the task never started, or was killed before its script ended";
        }

        return node;
    }

    private static void FillFigures(NodeSummary node, ResultDocument doc, JsonObject raw, TaskExitRecord? exit)
    {
        ResultMetrics m = doc.Metrics;
        node.Valid = doc.Valid;
        node.ThroughputPerS = m.ThroughputPerS;
        node.ThroughputUnit = m.ThroughputUnit;
        node.LatencyP50Ms = m.LatencyMs?.P50;
        node.LatencyP99Ms = m.LatencyMs?.P99;
        node.RequestsOk = m.RequestsOk;
        node.RequestsFailed = m.RequestsFailed;
        node.Cpu = doc.Hardware?.Cpu.Model;
        bool cuda = doc.Backend.Contains(":cuda", StringComparison.OrdinalIgnoreCase);
        string? assigned = cuda ? AssignedGpu(doc, exit) : null;
        GpuInfo? used = assigned is null ? null : (doc.Hardware?.Gpus ?? []).FirstOrDefault(g => Matches(assigned, g.Index, g.Uuid));
        node.Gpu = !cuda ? null : used is not null ? $"{used.Name} #{used.Index}" : assigned;
        node.ThrottleS = ThrottleSeconds(raw, cuda, assigned);
    }

    /// <summary>
    /// The GPU a CUDA run used, as an NVML index or UUID: the backend's device id picks from the GPUs the
    /// scheduler gave the task (SLURM_JOB_GPUS, CUDA_VISIBLE_DEVICES, NVIDIA_VISIBLE_DEVICES), as CUDA does;
    /// without an assignment the device id is the index.
    /// </summary>
    private static string AssignedGpu(ResultDocument doc, TaskExitRecord? exit)
    {
        string[] parts = doc.Backend.Split(':');
        int id = parts.Length == 3 && int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out int d) ? d : 0;
        string[] visible = (exit?.Gpus ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return id < visible.Length ? visible[id] : id.ToString(CultureInfo.InvariantCulture);
    }

    private static bool Matches(string gpu, int index, string? uuid) =>
        int.TryParse(gpu, NumberStyles.None, CultureInfo.InvariantCulture, out int i) ? i == index : string.Equals(gpu, uuid, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Throttle time from the result's telemetry section. For a CUDA run, the <c>throttle_s</c> of the
    /// GPU it used (telemetry.gpus[] by index or uuid: NVML reports every GPU of the node, and another
    /// task's card must not flag this one). Otherwise, and where no entry matches, the largest number
    /// under "telemetry" (GPU entries only for CUDA runs) or directly in "metrics" whose name holds
    /// "throttle" and ends in _s or _seconds (_ms is converted). Null where none is reported.
    /// </summary>
    public static double? ThrottleSeconds(JsonObject raw, bool cudaRun = true, string? usedGpu = null)
    {
        if (usedGpu is not null && raw["telemetry"]?["gpus"] is JsonArray entries)
        {
            foreach (JsonObject entry in entries.OfType<JsonObject>())
            {
                int index = entry["index"] is JsonValue iv && iv.GetValueKind() == JsonValueKind.Number && iv.TryGetValue(out int n) ? n : -1;
                string? uuid = entry["uuid"] is JsonValue uv && uv.GetValueKind() == JsonValueKind.String ? uv.GetValue<string>() : null;
                if (Matches(usedGpu, index, uuid))
                {
                    return Seconds("throttle_s", entry["throttle_s"]);
                }
            }
        }

        double? best = null;
        void Consider(string name, JsonNode? value)
        {
            if (name.Contains("throttle", StringComparison.OrdinalIgnoreCase) && Seconds(name, value) is { } s)
            {
                best = Math.Max(best ?? 0, s);
            }
        }

        void Walk(JsonNode? n)
        {
            switch (n)
            {
                case JsonObject o:
                    foreach ((string k, JsonNode? v) in o)
                    {
                        if (!cudaRun && k == "gpus")
                        {
                            continue;
                        }

                        Consider(k, v);
                        Walk(v);
                    }

                    break;
                case JsonArray a:
                    foreach (JsonNode? v in a)
                    {
                        Walk(v);
                    }

                    break;
            }
        }

        Walk(raw["telemetry"]);
        if (raw["metrics"] is JsonObject metrics)
        {
            foreach ((string k, JsonNode? v) in metrics)
            {
                Consider(k, v);
            }
        }

        return best;
    }

    /// <summary>A number named *_s, *_seconds or *_ms, in seconds; null for anything else.</summary>
    private static double? Seconds(string name, JsonNode? value)
    {
        if (value is not JsonValue v || v.GetValueKind() != JsonValueKind.Number
            || !double.TryParse(v.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture, out double x) || !double.IsFinite(x))
        {
            return null;
        }

        return name.EndsWith("_ms", StringComparison.OrdinalIgnoreCase) ? x / 1000
            : name.EndsWith("_s", StringComparison.OrdinalIgnoreCase) || name.EndsWith("_seconds", StringComparison.OrdinalIgnoreCase) ? x
            : null;
    }

    /// <summary>
    /// Puts the nodes with a result into groups by what moves speed (<see cref="ComparabilityRule.SpeedKey"/>):
    /// a fleet of two CPU generations is two fleets as far as outliers go.
    /// </summary>
    private static void Group(FleetSummary summary, List<LoadedFile> files)
    {
        var byPath = files.Where(f => f.Document is not null && f.Refusal is null).ToDictionary(f => f.RelativePath);
        var keyed = summary.Nodes
            .Select(n => (Node: n, Doc: n.File is { } p && byPath.TryGetValue(p, out LoadedFile? f) ? f.Document : null))
            .Where(x => x.Doc is not null)
            .GroupBy(x => ComparabilityRule.SpeedKey(x.Doc!) ?? "(hardware not recorded)")
            .OrderByDescending(g => g.Count())
            .ThenBy(g => g.Min(x => x.Node.Task ?? int.MaxValue))
            .ToList();
        ResultDocument? first = keyed.FirstOrDefault()?.First().Doc;
        for (int i = 0; i < keyed.Count; i++)
        {
            ResultDocument doc = keyed[i].First().Doc!;
            var group = new FleetGroup
            {
                Id = i + 1,
                Hardware = ComparabilityRule.Describe(doc.Hardware),
                Nodes = keyed[i].Count(),
                DiffersFromFirst = i == 0 ? [] : ComparabilityRule.Differences(first!, doc, "group 1 vs this group").Where(d => d.MovesSpeed && d.Area != DifferenceArea.Workload).Select(d => d.ToString()).ToList(),
            };
            summary.Groups.Add(group);
            foreach ((NodeSummary node, _) in keyed[i])
            {
                node.Group = group.Id;
            }
        }

        if (summary.Groups.Count > 1)
        {
            summary.Notes.Add($"The fleet is heterogeneous: {summary.Groups.Count} hardware groups ({string.Join("; ", summary.Groups.Select(g => $"group {g.Id}: {g.Nodes} x {g.Hardware}"))}). Outliers are judged within a group, never across.");
        }
    }

    private static void FlagOutliers(FleetSummary summary)
    {
        foreach (IGrouping<int?, NodeSummary> group in summary.Nodes.Where(n => n.Judged).GroupBy(n => n.Group))
        {
            FleetGroup? g = summary.Groups.FirstOrDefault(x => x.Id == group.Key);
            Dictionary<string, SpreadSummary> spread = summary.Groups.Count <= 1 ? summary.Spread : g?.Spread ?? summary.Spread;
            FlagOutliers(summary, group.ToList(), spread);
        }

        foreach (NodeSummary node in summary.Nodes.Where(n => n.Measured && n.ThrottleS is > 0))
        {
            node.Flags.Add(new OutlierFlag("throttle_s", node.ThrottleS!.Value, 0, null, "throttled",
                Invariant($"the telemetry reports {node.ThrottleS:0.###} s of clock throttling")));
        }
    }

    private static void FlagOutliers(FleetSummary summary, List<NodeSummary> measured, Dictionary<string, SpreadSummary> spread)
    {
        foreach ((string name, string label, MetricDefinition metric) in Judged)
        {
            bool higherIsSlower = metric.Better == Better.Lower;
            var values = measured.Select(n => (Node: n, Value: MetricOf(n, name))).Where(p => p.Value is { } v && double.IsFinite(v)).Select(p => (p.Node, Value: p.Value!.Value)).ToList();
            if (values.Count == 0)
            {
                continue;
            }

            double[] xs = values.Select(p => p.Value).ToArray();
            double median = Statistics.Median(xs);
            double mad = Statistics.MedianAbsoluteDeviation(xs, median);
            (double mean, double sd) = Statistics.MeanAndStdDev(xs);
            spread[name] = new SpreadSummary
            {
                Count = xs.Length,
                Median = median,
                Mad = mad,
                Min = xs.Min(),
                Max = xs.Max(),
                Cv = mean != 0 ? sd / mean : 0,
            };
            if (xs.Length < summary.Rule.MinNodes)
            {
                continue;
            }

            double sigma = Statistics.MadToSigma * mad;
            foreach ((NodeSummary node, double x) in values)
            {
                double d = x - median;
                double? z = sigma > 0 ? d / sigma : null;
                bool beyondK = z is { } zz ? Math.Abs(zz) > summary.Rule.K : d != 0;
                double relative = median != 0 ? Math.Abs(d / median) : (d != 0 ? double.PositiveInfinity : 0);
                if (!beyondK || relative <= summary.Rule.MinDeviation)
                {
                    continue;
                }

                bool slow = higherIsSlower ? d > 0 : d < 0;
                string distance = z is { } zv ? Invariant($"{Math.Abs(zv):0.0} robust deviations") : "away from the others, which agree exactly,";
                string side = d > 0 ? "above" : "below";
                string percent = median != 0 ? Invariant($" ({d / median:+0.0%;-0.0%})") : "";
                string reference = summary.Groups.Count > 1 ? "its group's median" : "the fleet median";
                node.Flags.Add(new OutlierFlag(name, x, median, z, slow ? "slow" : "fast",
                    Invariant($"{label} {x:0.###} is {distance} {side} {reference} {median:0.###}{percent}")));
            }
        }
    }

    private static double? MetricOf(NodeSummary n, string name) => name switch
    {
        "throughput_per_s" => n.ThroughputPerS,
        "latency_p50_ms" => n.LatencyP50Ms,
        "latency_p99_ms" => n.LatencyP99Ms,
        _ => null,
    };

    private static FleetAggregate Aggregate(List<NodeSummary> nodes, List<LoadedFile> files)
    {
        var measured = nodes.Where(n => n.Measured).ToList();
        var aggregate = new FleetAggregate
        {
            NodesListed = nodes.Count,
            NodesMeasured = measured.Count,
            NodesValid = nodes.Count(n => n.Status == NodeStatus.Ok),
            NodesFlagged = nodes.Count(n => n.Outlier),
            NodesFailed = nodes.Count(n => n.Status == NodeStatus.Failed),
            NodesMissing = nodes.Count(n => n.Status == NodeStatus.Missing),
            NodesRefused = nodes.Count(n => n.Status == NodeStatus.Refused),
            NodesDisturbed = nodes.Count(n => n.Status == NodeStatus.Disturbed),
            ThroughputPerS = measured.Sum(n => n.ThroughputPerS ?? 0),
            ThroughputUnit = measured.Select(n => n.ThroughputUnit).FirstOrDefault(u => u is not null),
            RequestsOk = measured.Sum(n => n.RequestsOk ?? 0),
            RequestsFailed = measured.Sum(n => n.RequestsFailed ?? 0),
        };

        // Pool the per-request samples; only when every node kept them at the same stride, so that
        // each node weighs by its request count.
        var byPath = files.Where(f => f.Document is not null).ToDictionary(f => f.RelativePath);
        var samples = measured.Select(n => n.File is { } p && byPath.TryGetValue(p, out LoadedFile? f) ? f.Document!.Samples : null).ToList();
        if (measured.Count == 0)
        {
            aggregate.LatencyNote = "no node was measured";
        }
        else if (samples.Any(s => s is null || s.LatencyMs.Length == 0))
        {
            aggregate.LatencyNote = "not pooled: a node's result holds no per-request samples";
        }
        else if (samples.Select(s => s!.Stride).Distinct().Count() > 1)
        {
            aggregate.LatencyNote = "not pooled: the nodes kept every k-th sample with different k";
        }
        else
        {
            double[] pooled = samples.SelectMany(s => s!.LatencyMs).ToArray();
            aggregate.LatencyMs = DistributionSummary.FromMilliseconds(pooled);
            aggregate.LatencyNote = "pooled per-request samples of all measured nodes";
        }

        return aggregate;
    }

    private static void AddNotes(FleetSummary summary)
    {
        int measured = summary.Nodes.Count(n => n.Judged);
        if (summary.Aggregate.NodesDisturbed > 0)
        {
            summary.Notes.Add($"{summary.Aggregate.NodesDisturbed} node(s) were disturbed while measuring (other processes, steal or GPU neighbours): they are listed as disturbed, not slow, and left out of the spread and the outlier rule.");
        }

        if (measured is > 0 && measured < summary.Rule.MinNodes)
        {
            summary.Notes.Add($"Outliers are looked for among {summary.Rule.MinNodes} or more measured nodes; {measured} were measured.");
        }

        if (summary.ExpectedTasks is null)
        {
            summary.Notes.Add("The number of tasks is unknown (no fleet.json, no --expect, no exit record states it): only tasks that left a file are listed.");
        }
    }

    private static (FleetSuite? Suite, string? Key) ChooseSuite(List<LoadedFile> files)
    {
        // The suite most nodes ran is the fleet's; on a tie, the one of the lowest task.
        var best = files.Where(f => f.Document is not null)
            .GroupBy(f => f.SuiteKey!)
            .OrderByDescending(g => g.Count())
            .ThenBy(g => g.Min(f => f.Task ?? int.MaxValue))
            .FirstOrDefault();
        return best is null ? (null, null) : (SuiteOf(best.First().Document!), best.Key);
    }

    internal static FleetSuite SuiteOf(ResultDocument doc) => new()
    {
        SchemaVersion = doc.SchemaVersion,
        Workload = doc.Workload,
        Backend = doc.Backend,
        Scenario = doc.Scenario,
        Config = doc.Config.Where(kv => !PerNodeConfig.Contains(kv.Key)).OrderBy(kv => kv.Key, StringComparer.Ordinal).ToDictionary(kv => kv.Key, kv => kv.Value),
    };

    private static string KeyOf(FleetSuite s) => JsonSerializer.Serialize(s, ResultJson.Options);

    private static string DescribeDifference(FleetSuite fleet, FleetSuite node)
    {
        var diffs = new List<string>();
        void Compare(string field, string theirs, string ours)
        {
            if (theirs != ours)
            {
                diffs.Add($"{field} {theirs} where the fleet has {ours}");
            }
        }

        Compare("workload", node.Workload, fleet.Workload);
        Compare("backend", node.Backend, fleet.Backend);
        Compare("scenario", node.Scenario, fleet.Scenario);
        foreach (string key in fleet.Config.Keys.Union(node.Config.Keys).Order(StringComparer.Ordinal))
        {
            string theirs = node.Config.TryGetValue(key, out object? a) ? Json(a) : "(absent)";
            string ours = fleet.Config.TryGetValue(key, out object? b) ? Json(b) : "(absent)";
            Compare($"config {key}", theirs, ours);
        }

        return diffs.Count == 0 ? "its settings differ" : string.Join("; ", diffs.Take(3)) + (diffs.Count > 3 ? $"; and {diffs.Count - 3} more" : "");
    }

    private static string Json(object? value) => JsonSerializer.Serialize(value, ResultJson.Options).Replace("\n", "", StringComparison.Ordinal).Replace("  ", "", StringComparison.Ordinal);

    private static Dictionary<int, (TaskExitRecord? Record, string? Problem)> ReadExitRecords(FleetLayout layout)
    {
        var records = new Dictionary<int, (TaskExitRecord?, string?)>();
        if (!Directory.Exists(layout.StatusDir))
        {
            return records;
        }

        foreach (string path in Directory.GetFiles(layout.StatusDir, "task-*.json"))
        {
            if (FleetLayout.TaskOf(path) is { } task)
            {
                TaskExitRecord? record = TaskExitRecord.TryRead(path, out string? problem);
                records[task] = (record, problem);
            }
        }

        return records;
    }

    /// <summary>results/*.json in a fleet folder; else every *.json under the folder but the fleet's own files.</summary>
    private static IEnumerable<string> FindResultFiles(FleetLayout layout)
    {
        IEnumerable<string> files = Directory.Exists(layout.ResultsDir)
            ? ResultReader.FindUnder(layout.ResultsDir, recursive: false)
            : ResultReader.FindUnder(layout.Root).Where(f => !IsUnder(f, layout.StatusDir) && !IsUnder(f, layout.LogsDir));
        return files
            .Where(f => !Path.GetFileName(f).StartsWith("fleet", StringComparison.OrdinalIgnoreCase))
            .OrderBy(f => FleetLayout.TaskOf(f) ?? int.MaxValue)
            .ThenBy(f => f, StringComparer.Ordinal);
    }

    private static bool IsUnder(string file, string dir) =>
        Path.GetFullPath(file).StartsWith(Path.GetFullPath(dir) + Path.DirectorySeparatorChar, StringComparison.Ordinal);

    private static List<string>? LogTail(FleetLayout layout, int? task, int lines)
    {
        if (task is not { } t || lines <= 0)
        {
            return null;
        }

        foreach (string path in new[] { layout.StderrPath(t), layout.StdoutPath(t) })
        {
            List<string> tail = Tail(path, lines);
            if (tail.Count > 0)
            {
                return tail;
            }
        }

        return null;
    }

    private static List<string> Tail(string path, int lines)
    {
        try
        {
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            const int window = 64 * 1024;
            fs.Seek(Math.Max(0, fs.Length - window), SeekOrigin.Begin);
            using var reader = new StreamReader(fs, Encoding.UTF8);
            return reader.ReadToEnd()
                .Split('\n')
                .Select(l => l.TrimEnd('\r'))
                .Where(l => l.Trim().Length > 0)
                .TakeLast(lines)
                .Select(l => l.Length > 300 ? l[..300] + "..." : l)
                .ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    private static string ExitMeaning(int code) => code switch
    {
        0 => "exit code 0",
        1 => "exit code 1 (the run failed or its result is invalid)",
        2 => "exit code 2 (bad input: nothing was measured)",
        > 128 and < 160 => $"exit code {code} (killed by signal {code - 128})",
        _ => $"exit code {code}",
    };

    private static string? NonEmpty(string? s) => string.IsNullOrWhiteSpace(s) ? null : s;

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    /// <summary>One result file as read: the document, or why it cannot be merged.</summary>
    private sealed class LoadedFile
    {
        public required string Path { get; init; }

        public required string RelativePath { get; init; }

        public int? Task { get; init; }

        public ResultDocument? Document { get; init; }

        public JsonObject? Raw { get; init; }

        public string? SuiteKey { get; init; }

        public string? Refusal { get; set; }

        public static LoadedFile Load(string path, string root)
        {
            string relative = System.IO.Path.GetRelativePath(root, path);
            int? task = FleetLayout.TaskOf(path);
            LoadedFile Refused(string why) => new() { Path = path, RelativePath = relative, Task = task, Refusal = why };
            if (!ResultReader.TryRead(path, out LoadedResult? result, out string? problem))
            {
                return Refused($"{relative} {problem}");
            }

            (ResultDocument doc, JsonObject raw) = (result!.Document, result.Raw);
            return new LoadedFile { Path = path, RelativePath = relative, Task = task, Document = doc, Raw = raw, SuiteKey = KeyOf(SuiteOf(doc)) };
        }
    }
}
