using System.Text.Json;
using Harness.Backends;
using Harness.Decoding;
using Harness.Engine;
using Harness.Engine.Scenarios;
using Harness.Onnx.Profiling;
using Harness.Onnx.Tests.Decoder;

namespace Harness.Onnx.Tests.Profiling;

/// <summary>
/// ONNX Runtime's profile read and summarised from a small fixture in its format (a JSON array of Chrome trace events:
/// Session events, and three Node events per kernel, fence_before, kernel_time and fence_after).
/// </summary>
public sealed class OrtProfileTests : IDisposable
{
    /// <summary>
    /// The fixture (ort-profile-small.json, beside this file): three runs, a prefill at ts 6000 (kernels 300 + 100 µs,
    /// wall 1000), then two decode steps (wall 500 and 400; kernels 200 + 50 + 100 and 150 + 30 + 90), a kernel after
    /// the last run (in none), the load and initialization events, and fences (not kernels). Shapes: the tiny Llama's
    /// gate|up (64 x 384) and down (192 x 64).
    /// </summary>
    public static readonly string Fixture = Path.Combine(AppContext.BaseDirectory, "Profiling", "ort-profile-small.json");

    private readonly string _dir = Directory.CreateTempSubdirectory("harness-ortprof-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static IReadOnlyList<OrtRun> Runs() => OrtProfile.Read(Fixture);

    [Fact]
    public void Runs_hold_the_kernels_that_started_inside_them_and_nothing_else()
    {
        IReadOnlyList<OrtRun> runs = Runs();
        Assert.Equal([6000L, 8000, 9000], runs.Select(r => r.StartUs));
        Assert.Equal([1000L, 500, 400], runs.Select(r => r.DurationUs));
        Assert.Equal([2, 3, 3], runs.Select(r => r.Kernels.Count));
        Assert.Equal([400L, 350, 270], runs.Select(r => r.KernelUs));
        OrtKernel first = runs[0].Kernels[0];
        Assert.Equal(("n_MatMulNBits_3", "MatMulNBits", 64L, 384L), (first.Node, first.Op, first.InnerDim, first.OuterDim));
        Assert.Equal((0L, 0L), (runs[2].Kernels[1].InnerDim, runs[2].Kernels[1].OuterDim)); // no shapes given
    }

    [Fact]
    public void A_summary_gives_means_per_run_per_op_and_shape_and_the_gap_to_the_wall()
    {
        IReadOnlyList<OrtRun> runs = Runs();
        OrtRunSummary s = OrtProfile.Summarize([runs[1], runs[2]]);
        Assert.Equal(2, s.Runs);
        Assert.Equal(450, s.WallUsPerRun);
        Assert.Equal(310, s.KernelUsPerRun);
        Assert.Equal(140, s.GapUsPerRun);
        Assert.Equal(["MatMulNBits", "Add"], s.Ops.Select(o => o.Op));
        OrtOpTime mm = s.Ops[0];
        Assert.Equal((2.0, 270.0, 135.0), (mm.CallsPerRun, mm.UsPerRun, mm.UsPerCall));
        Assert.Equal(270.0 / 450, mm.ShareOfRun, 12);
        Assert.Equal(40, s.Ops[1].UsPerRun);
        OrtShapeTime gateUp = s.Shapes.Single(x => x.K == 64 && x.N == 384);
        Assert.Equal((1.0, 175.0), (gateUp.CallsPerRun, gateUp.UsPerRun));
        Assert.Equal(95, s.Shapes.Single(x => x.K == 192 && x.N == 64).UsPerRun);
        Assert.Equal(0, OrtProfile.Summarize([]).Runs);
    }

    [Fact]
    public void The_decoders_runs_pick_the_measured_windows_decode_steps_and_prefills()
    {
        IReadOnlyList<OrtRun> runs = Runs();
        (IReadOnlyList<OrtRun> decode, IReadOnlyList<OrtRun> prefill, string selection) =
            DecoderProfile.Pick(runs, [false, true, true], from: 1, to: 3);
        Assert.Equal([8000L, 9000], decode.Select(r => r.StartUs));
        Assert.Empty(prefill);
        Assert.Contains("measured window", selection, StringComparison.Ordinal);

        (decode, prefill, selection) = DecoderProfile.Pick(runs, [false, true, true], from: null, to: null);
        Assert.Equal(2, decode.Count);
        Assert.Equal(6000, Assert.Single(prefill).StartUs);
        Assert.Contains("warm-up runs count too", selection, StringComparison.Ordinal);

        // Counts that disagree: nothing can be told apart, so every run counts, and the summary says why.
        (decode, prefill, selection) = DecoderProfile.Pick(runs, [false, true], from: 0, to: 2);
        Assert.Equal(3, decode.Count);
        Assert.Empty(prefill);
        Assert.Contains("could not be told apart", selection, StringComparison.Ordinal);
    }

    [Fact]
    public void Matrix_products_are_named_from_the_weight_layout_with_the_bytes_they_stream()
    {
        DecoderConfig c = QuantizedDecoderTests.TinyLlama();
        var quant = new WeightQuantization(4, 32, false, 4);
        var profile = new DecoderProfile(Path.Combine(_dir, "p"), c, TensorDType.Float32, quant);
        IReadOnlyList<OrtRun> runs = Runs();
        List<MatrixTime> m = profile.Matrices(OrtProfile.Summarize([runs[1], runs[2]]));
        MatrixTime gateUp = m.Single(x => x.Matrix == "mlp.gate_up");
        // int4, block 32, fp32 scales: 4 + 32 / 32 = 5 bits a weight stored; MLAS adds a float block sum: 6 bits.
        Assert.Equal(64 * 384 * 5 / 8.0, gateUp.StoredBytesPerCall);
        Assert.Equal(64 * 384 * 6 / 8.0, gateUp.PackedBytesPerCall);
        Assert.Equal(64 * 384 * 5 / 8.0 / 175 / 1e3, gateUp.StoredGbPerS, 12);
        Assert.Equal("mlp.down", m.Single(x => x.K == 192).Matrix);

        // Float weights: 4 bytes each, no packed figure.
        var fp32 = new DecoderProfile(Path.Combine(_dir, "f"), c, TensorDType.Float32, null);
        MatrixTime down = fp32.Matrices(OrtProfile.Summarize([runs[1]])).Single(x => x.K == 192);
        Assert.Equal((192 * 64 * 4.0, (double?)null), (down.StoredBytesPerCall, down.PackedBytesPerCall));
    }
}

/// <summary>The profiler on a real session: generate on onnx:cpu with <c>--set ort_profile=PATH</c>, int4 weights.</summary>
public sealed class DecoderProfileRunTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("harness-ortprof-run-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>
    /// The profile's model_run events are the decoder's runs one for one (else the summary could not tell decode steps
    /// from prefills), and the summary keeps the measured window's: one prefill and two decode steps per measured request.
    /// </summary>
    [Fact]
    public void Generate_writes_the_profile_and_a_summary_of_the_measured_decode_steps()
    {
        DecoderTestSupport.EnsureCache();
        string prefix = Path.Combine(_dir, "run");
        var options = new WorkloadOptions
        {
            Threads = 1, ModelConfig = QuantizedDecoderTests.TinyLlama(), PromptTokens = 6, NewTokens = 3, DType = TensorDType.Float32,
            Quantization = new WeightQuantization(4, 32, false, 4),
            Extra = new Dictionary<string, string> { [Harness.Metrics.ConfigKeys.OrtProfile] = prefix },
        };
        var settings = new RunSettings
        {
            Scenario = ScenarioParser.Parse("single"), Batch = 1, Warmup = WarmupRule.ForRequests(1),
            Stop = new StopRules(TimeSpan.Zero, 2, TimeSpan.FromMinutes(2)),
        };
        IWorkload workload = new OnnxBackendProvider().Create(GenerateWorkload.Name, BackendSpec.Parse("onnx:cpu"), options);
        EngineResult run;
        try
        {
            run = new BenchmarkEngine().Run(workload, settings);
        }
        finally
        {
            workload.Dispose(); // ends the profiler: the files are written here
        }

        long requests = run.Outcomes.Ok;
        Assert.True(requests >= 2);
        Assert.StartsWith("on (", (string)run.Workload.Details[Harness.Metrics.ConfigKeys.OrtProfile]!, StringComparison.Ordinal);
        Assert.True(File.Exists(prefix + DecoderProfile.RawSuffix));
        using JsonDocument summary = JsonDocument.Parse(File.ReadAllText(prefix + ".ort-summary.json"));
        JsonElement root = summary.RootElement;
        Assert.Contains("measured window", root.GetProperty("selection").GetString(), StringComparison.Ordinal);
        Assert.Equal(2 * requests, root.GetProperty("decode").GetProperty("runs").GetInt32());
        Assert.Equal(requests, root.GetProperty("prefill").GetProperty("runs").GetInt32());
        JsonElement decodeOps = root.GetProperty("decode").GetProperty("ops");
        Assert.Contains(decodeOps.EnumerateArray(), o => o.GetProperty("op").GetString() == "MatMulNBits");
        string[] matrices = root.GetProperty("matrices").EnumerateArray().Select(m => m.GetProperty("matrix").GetString()!).ToArray();
        Assert.Equal(["attn.out", "attn.qkv", "lm_head", "mlp.down", "mlp.gate_up"], matrices.Order(StringComparer.Ordinal));
        Assert.Contains("Per decode step", File.ReadAllText(prefix + DecoderProfile.SummarySuffix), StringComparison.Ordinal);
    }
}
