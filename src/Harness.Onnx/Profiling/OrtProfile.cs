using System.Text.Json;

namespace Harness.Onnx.Profiling;

/// <summary>
/// One kernel of ONNX Runtime's profile: a node's <c>*_kernel_time</c> event. <paramref name="InnerDim"/> is the last
/// dimension of the node's first input and <paramref name="OuterDim"/> that of its first output (K and N of a matrix
/// product); 0 where the profile gives no shape.
/// </summary>
public sealed record OrtKernel(string Node, string Op, long StartUs, long DurationUs, long InnerDim, long OuterDim);

/// <summary>One session run (ONNX Runtime's <c>model_run</c> event) and the kernels that ran inside its span.</summary>
public sealed record OrtRun(long StartUs, long DurationUs, IReadOnlyList<OrtKernel> Kernels)
{
    /// <summary>The kernels' time, summed (sequential execution: they do not overlap).</summary>
    public long KernelUs => Kernels.Sum(k => k.DurationUs);
}

/// <summary>One op type over the summarised runs: calls and microseconds per run, and its share of the run's wall time.</summary>
public sealed record OrtOpTime(string Op, double CallsPerRun, double UsPerRun, double UsPerCall, double ShareOfRun);

/// <summary>One op type at one shape (K x N of a matrix product) over the summarised runs.</summary>
public sealed record OrtShapeTime(string Op, long K, long N, double CallsPerRun, double UsPerRun);

/// <summary>
/// Runs of one kind summarised: their mean wall time (model_run), the mean of their kernels' summed time, and the
/// gap between the two (what runs between kernels: the executor, thread hand-offs, the profiler's own events), per op
/// type (slowest first) and per op and shape.
/// </summary>
public sealed record OrtRunSummary(
    int Runs, double WallUsPerRun, double KernelUsPerRun, IReadOnlyList<OrtOpTime> Ops, IReadOnlyList<OrtShapeTime> Shapes)
{
    /// <summary>Wall time per run not inside any kernel.</summary>
    public double GapUsPerRun => WallUsPerRun - KernelUsPerRun;
}

/// <summary>
/// Reads ONNX Runtime's profile (<c>SessionOptions.EnableProfiling</c>: a JSON array of Chrome trace events) into
/// session runs and their kernels, and summarises runs per op type. Plain JSON: no ONNX Runtime call.
/// <list type="bullet">
/// <item>A run is a <c>Session</c> event named <c>model_run</c> (one per <c>Run</c>, written when it ends, stamped
/// with its start); its span is [ts, ts + dur) in microseconds from the profile's start.</item>
/// <item>A kernel is a <c>Node</c> event whose name ends in <c>_kernel_time</c>, its op type in
/// <c>args.op_name</c>, its shapes in <c>args.input_type_shape</c> / <c>output_type_shape</c>
/// (<c>[{"float":[1,1,2048]}, ...]</c>); it belongs to the run whose span holds its start.</item>
/// </list>
/// </summary>
public static class OrtProfile
{
    /// <summary>The name of the event ONNX Runtime writes for each session run.</summary>
    public const string RunEvent = "model_run";

    private const string KernelSuffix = "_kernel_time";

    /// <summary>The profile's runs in the order they started, each with its kernels.</summary>
    public static IReadOnlyList<OrtRun> Read(string path)
    {
        using FileStream stream = File.OpenRead(path);
        return Read(stream);
    }

    /// <inheritdoc cref="Read(string)"/>
    public static IReadOnlyList<OrtRun> Read(Stream json)
    {
        using JsonDocument doc = JsonDocument.Parse(json);
        var runs = new List<(long Start, long Duration)>();
        var kernels = new List<OrtKernel>();
        foreach (JsonElement e in doc.RootElement.EnumerateArray())
        {
            if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty("name", out JsonElement nameValue)
                || nameValue.GetString() is not { } name)
            {
                continue;
            }

            string category = e.TryGetProperty("cat", out JsonElement cat) ? cat.GetString() ?? "" : "";
            long ts = Number(e, "ts"), dur = Number(e, "dur");
            if (category == "Session" && name == RunEvent)
            {
                runs.Add((ts, dur));
            }
            else if (category == "Node" && name.EndsWith(KernelSuffix, StringComparison.Ordinal))
            {
                JsonElement args = e.TryGetProperty("args", out JsonElement a) ? a : default;
                string op = args.ValueKind == JsonValueKind.Object && args.TryGetProperty("op_name", out JsonElement o)
                    ? o.GetString() ?? "?"
                    : "?";
                kernels.Add(new OrtKernel(name[..^KernelSuffix.Length], op, ts, dur,
                    LastDim(args, "input_type_shape"), LastDim(args, "output_type_shape")));
            }
        }

        runs.Sort((a, b) => a.Start.CompareTo(b.Start));
        var members = runs.Select(_ => new List<OrtKernel>()).ToArray();
        long[] starts = runs.Select(r => r.Start).ToArray();
        foreach (OrtKernel k in kernels)
        {
            // The last run that started at or before the kernel, if the kernel started inside it.
            int i = Array.BinarySearch(starts, k.StartUs);
            i = i >= 0 ? LastAt(starts, i) : ~i - 1;
            if (i >= 0 && k.StartUs < runs[i].Start + runs[i].Duration)
            {
                members[i].Add(k);
            }
        }

        return runs.Select((r, i) => new OrtRun(r.Start, r.Duration, members[i].OrderBy(k => k.StartUs).ToList())).ToList();
    }

    /// <summary>Means per run over <paramref name="runs"/> (all of one kind: decode steps, or prefills).</summary>
    public static OrtRunSummary Summarize(IReadOnlyList<OrtRun> runs)
    {
        int n = runs.Count;
        if (n == 0)
        {
            return new OrtRunSummary(0, 0, 0, [], []);
        }

        double wall = runs.Average(r => (double)r.DurationUs);
        double kernelUs = runs.Average(r => (double)r.KernelUs);
        List<OrtKernel> all = runs.SelectMany(r => r.Kernels).ToList();
        List<OrtOpTime> ops = all.GroupBy(k => k.Op, StringComparer.Ordinal)
            .Select(g =>
            {
                double total = g.Sum(k => (double)k.DurationUs);
                return new OrtOpTime(g.Key, g.Count() / (double)n, total / n, total / g.Count(), wall > 0 ? total / n / wall : 0);
            })
            .OrderByDescending(o => o.UsPerRun).ThenBy(o => o.Op, StringComparer.Ordinal).ToList();
        List<OrtShapeTime> shapes = all.GroupBy(k => (k.Op, k.InnerDim, k.OuterDim))
            .Select(g => new OrtShapeTime(
                g.Key.Op, g.Key.InnerDim, g.Key.OuterDim, g.Count() / (double)n, g.Sum(k => (double)k.DurationUs) / n))
            .OrderByDescending(s => s.UsPerRun).ThenBy(s => s.Op, StringComparer.Ordinal).ToList();
        return new OrtRunSummary(n, wall, kernelUs, ops, shapes);
    }

    private static int LastAt(long[] starts, int i)
    {
        while (i + 1 < starts.Length && starts[i + 1] == starts[i])
        {
            i++;
        }

        return i;
    }

    private static long Number(JsonElement e, string name) =>
        e.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out long n) ? n : 0;

    /// <summary>The last dimension of the first tensor of a shape list (<c>[{"float":[1,1,2048]}]</c>); 0 when there is none.</summary>
    private static long LastDim(JsonElement args, string name)
    {
        if (args.ValueKind != JsonValueKind.Object || !args.TryGetProperty(name, out JsonElement list)
            || list.ValueKind != JsonValueKind.Array || list.GetArrayLength() == 0 || list[0].ValueKind != JsonValueKind.Object)
        {
            return 0;
        }

        foreach (JsonProperty typed in list[0].EnumerateObject())
        {
            if (typed.Value.ValueKind == JsonValueKind.Array && typed.Value.GetArrayLength() > 0
                && typed.Value[typed.Value.GetArrayLength() - 1].TryGetInt64(out long last))
            {
                return last;
            }
        }

        return 0;
    }
}
