using System.Globalization;
using System.Text;
using System.Text.Json;
using Harness.Backends;
using Harness.Formatting;
using Harness.Measurement;
using Harness.Models;

namespace Harness.Onnx.Profiling;

/// <summary>
/// <c>--set ort_profile=PATH</c> on an onnx:* decoder: ONNX Runtime's profiler on for the whole session (it cannot be
/// switched on for part of one), and when the decoder is disposed its profile kept as <c>PATH.ort-profile.json</c>
/// and summarised in <c>PATH.ort-summary.md</c> / <c>.json</c>: per op type, microseconds per decode step and per
/// prefill, the gap between a step's wall time and its kernels, and the matrix products by matrix with the bytes
/// their weights stream and the rate that gives. Only the runs of the measured window are summarised where the decoder
/// heard the run's phases (<see cref="IRunObserver"/>, from <c>generate</c>), else every run of the session. The
/// profiler's own events perturb the timings it reports, and those of the run: the result says it was on.
/// </summary>
public sealed class DecoderProfile
{
    /// <summary>The end of the raw profile's file name.</summary>
    public const string RawSuffix = ".ort-profile.json";

    /// <summary>The end of the summary's file name (Markdown; the same figures in <c>.ort-summary.json</c>).</summary>
    public const string SummarySuffix = ".ort-summary.md";

    private static readonly JsonSerializerOptions JsonOptions =
        new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private readonly List<bool> _decode = [];
    private readonly DecoderConfig _c;
    private readonly TensorDType _dtype;
    private readonly WeightQuantization? _quant;
    private int? _measuredFrom;
    private int? _measuredTo;

    public DecoderProfile(string pathPrefix, DecoderConfig c, TensorDType dtype, WeightQuantization? quant)
    {
        PathPrefix = Path.GetFullPath(pathPrefix);
        string? folder = Path.GetDirectoryName(PathPrefix);
        if (folder is not null)
        {
            Directory.CreateDirectory(folder);
        }

        _c = c;
        _dtype = dtype;
        _quant = quant;
    }

    public string PathPrefix { get; }

    /// <summary>Where ONNX Runtime writes its profile while the session runs (its own name follows: prefix_date.json).</summary>
    public string RuntimePrefix => PathPrefix + ".ort-raw";

    /// <summary>What the result's config says: that the profiler was on, and where its files are.</summary>
    public string Describe() =>
        $"on (ONNX Runtime's profiler over the whole session; its events perturb the timings): {PathPrefix}{RawSuffix}, "
        + $"summary {PathPrefix}{SummarySuffix}";

    /// <summary>A session run is about to start: a decode step or a prefill.</summary>
    public void RunStarting(bool decode) => _decode.Add(decode);

    /// <summary>The measured window opens (<see cref="RunPhases.Measuring"/>) or closes (<see cref="RunPhases.Done"/>).</summary>
    public void PhaseStarted(string phase)
    {
        if (phase == RunPhases.Measuring)
        {
            _measuredFrom = _decode.Count;
        }
        else if (phase == RunPhases.Done && _measuredFrom is not null)
        {
            _measuredTo = _decode.Count;
        }
    }

    /// <summary>
    /// Moves ONNX Runtime's file (<paramref name="runtimeFile"/>, from EndProfiling) to <c>PATH.ort-profile.json</c> and
    /// writes the summaries beside it; returns the summary's path.
    /// </summary>
    public string Finish(string runtimeFile)
    {
        string raw = PathPrefix + RawSuffix;
        File.Move(runtimeFile, raw, overwrite: true);
        IReadOnlyList<OrtRun> runs = OrtProfile.Read(raw);
        (IReadOnlyList<OrtRun> decode, IReadOnlyList<OrtRun> prefill, string selection) = Pick(runs, _decode, _measuredFrom, _measuredTo);
        OrtRunSummary d = OrtProfile.Summarize(decode), p = OrtProfile.Summarize(prefill);
        List<MatrixTime> matrices = Matrices(d);
        string summary = PathPrefix + SummarySuffix;
        File.WriteAllText(summary, Markdown(selection, d, p, matrices));
        File.WriteAllText(Path.ChangeExtension(summary, ".json"), JsonSerializer.Serialize(
            new { selection, decode = d, d.GapUsPerRun, prefill = p, matrices }, JsonOptions));
        return summary;
    }

    /// <summary>
    /// The decode steps and prefills to summarise: run i of the profile is the decoder's run i when the counts agree,
    /// kept when it lies in the measured window [<paramref name="from"/>, <paramref name="to"/>) (or always when no
    /// window was heard). When the counts differ the runs cannot be told apart: all of them count as decode steps.
    /// </summary>
    public static (IReadOnlyList<OrtRun> Decode, IReadOnlyList<OrtRun> Prefill, string Selection) Pick(
        IReadOnlyList<OrtRun> runs, IReadOnlyList<bool> decode, int? from, int? to)
    {
        if (runs.Count != decode.Count)
        {
            return (runs, [], $"all {runs.Count} runs of the profile, as decode steps: the decoder counted {decode.Count} runs, "
                + "so they could not be told apart");
        }

        int first = from ?? 0, end = to ?? runs.Count;
        var d = new List<OrtRun>();
        var p = new List<OrtRun>();
        for (int i = first; i < end; i++)
        {
            (decode[i] ? d : p).Add(runs[i]);
        }

        string window = from is null
            ? $"every run of the session ({runs.Count}: no measured window was heard, so warm-up runs count too)"
            : $"the measured window's runs ({end - first} of {runs.Count}; the warm-up's left out)";
        return (d, p, window);
    }

    /// <summary>The decode step's matrix products by matrix (named from the model's weight layout by K x N).</summary>
    public List<MatrixTime> Matrices(OrtRunSummary decode)
    {
        var names = new Dictionary<(long K, long N), string>();
        foreach (WeightSpec w in WeightLayout.For(_c).Where(w => w.Shape.Length == 2))
        {
            string part = w.Name;
            int dot = part.IndexOf('.', StringComparison.Ordinal);
            if (part.StartsWith('h') && dot > 0)
            {
                part = part[(dot + 1)..];
            }

            part = part.EndsWith(".weight", StringComparison.Ordinal) ? part[..^".weight".Length] : part;
            names.TryAdd((w.Shape[0], w.Shape[1]), part);
        }

        names[(_c.Hidden, _c.Vocab)] = WeightLayout.LmHead;
        double stored = DecoderCost.MatrixBytesPerWeight(_dtype, _quant);
        // MLAS's int8-compute path (accuracy_level 4) packs a float block sum beside each block's float scale.
        double? packed = _quant is { AccuracyLevel: 4 } q ? q.Bits / 8.0 + (2.0 * sizeof(float) / q.Block) : null;
        return decode.Shapes
            .Where(s => s.Op is "MatMulNBits" or "MatMulBlockQuantizedFp8Weight" or "MatMul" or "Gemm" or "FusedMatMul")
            .Select(s => new MatrixTime(
                names.GetValueOrDefault((s.K, s.N), "?"), s.Op, s.K, s.N, s.CallsPerRun, s.UsPerRun,
                stored * s.K * s.N, s.Op == "MatMulNBits" && packed is { } pk ? pk * s.K * s.N : null))
            .ToList();
    }

    private string Markdown(string selection, OrtRunSummary d, OrtRunSummary p, List<MatrixTime> matrices)
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"# ONNX Runtime profile: {_c.Name}, {_quant?.Describe() ?? _dtype.ShortName()}\n\n");
        sb.Append("ONNX Runtime's profiler was on for the whole session: its events perturb the timings below and the run's.\n");
        sb.Append(CultureInfo.InvariantCulture, $"Summarised: {selection}. Raw profile: {Path.GetFileName(PathPrefix + RawSuffix)}.\n\n");
        foreach ((string what, OrtRunSummary s) in new[] { ("decode step", d), ("prefill", p) })
        {
            if (s.Runs == 0)
            {
                continue;
            }

            sb.Append(CultureInfo.InvariantCulture,
                $"## Per {what} ({s.Runs} runs)\n\nWall (model_run) {s.WallUsPerRun:0} µs, kernels {s.KernelUsPerRun:0} µs, "
                + $"gap {s.GapUsPerRun:0} µs ({Share(s.GapUsPerRun, s.WallUsPerRun)} of the wall: executor, threads, profiler).\n\n");
            var table = new MarkdownTable(MarkdownColumn.Left("op"), MarkdownColumn.Right("calls"), MarkdownColumn.Right($"µs per {what}"),
                MarkdownColumn.Right("µs per call"), MarkdownColumn.Right("share of wall"));
            foreach (OrtOpTime o in s.Ops)
            {
                table.Row(o.Op, F(o.CallsPerRun, "0.#"), F(o.UsPerRun, "0"), F(o.UsPerCall, "0.0"), Share(o.UsPerRun, s.WallUsPerRun));
            }

            table.AppendTo(sb).Append('\n');
        }

        if (matrices.Count > 0)
        {
            sb.Append("## Matrix products per decode step\n\nBytes: the weights as stored in the graph; packed: as MLAS holds them for ")
                .Append("int8 compute (accuracy_level 4: a float block sum beside each block's float scale, ")
                .Append("from ONNX Runtime's source).\n\n");
            var table = new MarkdownTable(MarkdownColumn.Left("matrix"), MarkdownColumn.Left("op"), MarkdownColumn.Right("K x N"),
                MarkdownColumn.Right("calls"), MarkdownColumn.Right("µs per step"), MarkdownColumn.Right("MB per step"),
                MarkdownColumn.Right("GB/s stored"), MarkdownColumn.Right("GB/s packed"));
            foreach (MatrixTime m in matrices)
            {
                table.Row(m.Matrix, m.Op, $"{m.K} x {m.N}", F(m.CallsPerStep, "0.#"), F(m.UsPerStep, "0"),
                    F(m.StoredBytesPerCall * m.CallsPerStep / 1e6, "0.0"), F(m.StoredGbPerS, "0.0"),
                    m.PackedGbPerS is { } g ? F(g, "0.0") : "-");
            }

            double us = matrices.Sum(m => m.UsPerStep), bytes = matrices.Sum(m => m.StoredBytesPerCall * m.CallsPerStep);
            double? packedBytes = matrices.All(m => m.PackedBytesPerCall is not null)
                ? matrices.Sum(m => m.PackedBytesPerCall!.Value * m.CallsPerStep)
                : null;
            table.Row("all", "", "", F(matrices.Sum(m => m.CallsPerStep), "0.#"), F(us, "0"), F(bytes / 1e6, "0.0"),
                F(us > 0 ? bytes / us / 1e3 : 0, "0.0"), packedBytes is { } pb && us > 0 ? F(pb / us / 1e3, "0.0") : "-");
            table.AppendTo(sb);
        }

        return sb.ToString();
    }

    private static string F(double v, string format) => v.ToString(format, CultureInfo.InvariantCulture);

    private static string Share(double part, double whole) => whole > 0 ? F(part / whole * 100, "0.0") + "%" : "-";
}

/// <summary>A matrix product's kernels at one shape: which matrix, the bytes its weights stream per call and the rate.</summary>
public sealed record MatrixTime(
    string Matrix, string Op, long K, long N, double CallsPerStep, double UsPerStep,
    double StoredBytesPerCall, double? PackedBytesPerCall)
{
    /// <summary>GB/s of the weights as stored in the graph: bytes per step over the kernels' time per step.</summary>
    public double StoredGbPerS => UsPerStep > 0 ? StoredBytesPerCall * CallsPerStep / UsPerStep / 1e3 : 0;

    /// <summary>GB/s of the weights as MLAS packs them (a float block sum beside each block's scale); null for float weights.</summary>
    public double? PackedGbPerS => PackedBytesPerCall is { } b && UsPerStep > 0 ? b * CallsPerStep / UsPerStep / 1e3 : null;
}
