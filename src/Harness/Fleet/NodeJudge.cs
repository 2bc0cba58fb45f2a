using System.Globalization;
using Harness.Hardware;
using Harness.Results;
using Harness.Results.Validity;
using Harness.Telemetry;
using Harness.Trust;

namespace Harness.Fleet;

/// <summary>
/// One row per task: what its result, exit record and the scheduler say about it, as a
/// <see cref="NodeSummary"/> with its status (ok, invalid, disturbed, failed, missing, refused), the
/// reason when it is not ok, its figures and the GPU it used with that GPU's throttle time.
/// </summary>
internal static class NodeJudge
{
    public static List<NodeSummary> Judge(FleetInputs inputs, int? expected, MergeOptions options)
    {
        List<LoadedFile> files = inputs.Files;
        var byTask = files.Where(f => f.Task is not null).GroupBy(f => f.Task!.Value).ToDictionary(g => g.Key, g => g.First());
        var states = options.SchedulerStates.GroupBy(s => s.Task).ToDictionary(g => g.Key, g => g.First());
        var tasks = new SortedSet<int>(byTask.Keys.Concat(inputs.Exits.Keys).Concat(states.Keys));
        if (expected is { } n)
        {
            tasks.UnionWith(Enumerable.Range(0, n));
        }

        var nodes = new List<NodeSummary>();
        foreach (int task in tasks)
        {
            byTask.TryGetValue(task, out LoadedFile? file);
            inputs.Exits.TryGetValue(task, out var exit);
            states.TryGetValue(task, out SchedulerTaskState? state);
            nodes.Add(Node(inputs, task, file, exit.Record, exit.Problem, state, options));
        }

        // Result files not named task-N.json (a folder of plain runs): one row each.
        foreach (LoadedFile file in files.Where(f => f.Task is null))
        {
            nodes.Add(Node(inputs, null, file, null, null, null, options));
        }

        return nodes;
    }

    /// <summary>
    /// Throttle time from the result's typed telemetry (<see cref="GpuTelemetry.ThrottleS"/>): for a CUDA
    /// run, that of the GPU it used (telemetry.gpus[] by NVML index or UUID: NVML reports every GPU of
    /// the node, and another task's card must not flag this one); where no entry matches, the largest of
    /// the node's GPUs. Null for a run that used no GPU (<paramref name="usedGpu"/> null) and where none is reported.
    /// </summary>
    public static double? ThrottleSeconds(ResultDocument doc, string? usedGpu)
    {
        if (usedGpu is null)
        {
            return null;
        }

        List<GpuTelemetry> gpus = doc.Telemetry?.Gpus ?? [];
        if (gpus.FirstOrDefault(g => Matches(usedGpu, g.Index, g.Uuid)) is { } used)
        {
            return used.ThrottleS;
        }

        return gpus.Max(g => g.ThrottleS);
    }

    private static NodeSummary Node(
        FleetInputs inputs,
        int? task,
        LoadedFile? file,
        TaskExitRecord? exit,
        string? exitProblem,
        SchedulerTaskState? state,
        MergeOptions options)
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
        node.Name = NonEmpty(exit?.Node) ?? node.Hostname ?? NonEmpty(state?.Node)
            ?? (file is null ? "-" : Path.GetFileNameWithoutExtension(file.Path));
        string? schedulerNote = state is null ? null : $"; the scheduler says {state}";

        if (file?.Refusal is { } refusal)
        {
            node.Status = NodeStatus.Refused;
            node.Reason = refusal;
            return node;
        }

        if (doc is not null)
        {
            FillFigures(node, doc, exit);
            RunDisturbance disturbance = RunDisturbance.Of(doc, DisturbanceLimits.Default);
            var otherFailures = doc.Validity.Where(v => !v.Passed && v.Name != QuietHostRule.Name).ToList();
            node.Disturbance = disturbance.Disturbed ? string.Join("; ", disturbance.Causes) : null;
            if (doc.Cancelled)
            {
                node.Status = NodeStatus.Failed;
                node.Reason = $"the run was cancelled before it finished (stop reason {doc.StopReason}){schedulerNote}";
                node.LogTail = inputs.LogTail(task, options.LogTailLines);
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

        node.LogTail = inputs.LogTail(task, options.LogTailLines);
        (node.Status, node.Reason) = (exit, exitProblem, state) switch
        {
            ({ } e, _, _) => (NodeStatus.Failed, $"exited with {ExitMeaning(e.ExitCode)} and wrote no result{schedulerNote}"),
            (null, { } problem, _) => (NodeStatus.Failed, $"no result, and {problem}{schedulerNote}"),
            (null, null, { IsActive: true }) => (NodeStatus.Missing, $"no result yet: the task is {state}"),
            (null, null, not null) => (NodeStatus.Missing, $"no result and no exit record: the task ended as {state}"),
            _ => (NodeStatus.Missing, "no result and no exit record: the task never started, or was killed before its script ended"),
        };
        return node;
    }

    private static void FillFigures(NodeSummary node, ResultDocument doc, TaskExitRecord? exit)
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
        node.ThrottleS = ThrottleSeconds(doc, assigned);
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
        int.TryParse(gpu, NumberStyles.None, CultureInfo.InvariantCulture, out int i)
            ? i == index
            : string.Equals(gpu, uuid, StringComparison.OrdinalIgnoreCase);

    private static string ExitMeaning(int code) => code switch
    {
        0 => "exit code 0",
        1 => "exit code 1 (the run failed or its result is invalid)",
        2 => "exit code 2 (bad input: nothing was measured)",
        > 128 and < 160 => $"exit code {code} (killed by signal {code - 128})",
        _ => $"exit code {code}",
    };

    private static string? NonEmpty(string? s) => string.IsNullOrWhiteSpace(s) ? null : s;
}
