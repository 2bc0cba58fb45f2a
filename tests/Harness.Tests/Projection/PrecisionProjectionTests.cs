using Harness.Backends;
using Harness.Hardware.Catalog;
using Harness.Models;
using Harness.Projection;
using Harness.Results;

namespace Harness.Tests.Projection;

/// <summary>Projections that change the precision, the model or the batch, and projections from a published figure.</summary>
public class PrecisionProjectionTests
{
    private static readonly HardwareCatalog Catalog = HardwareCatalog.Default;

    private static LlmRunFacts Facts(ResultDocument doc) => LlmResultReader.Read(doc, "synthetic.json");

    /// <summary>30B bf16 on an H200, decode at 95% of the copy ceiling, prefill at 70% of the bf16 matrix ceiling.</summary>
    private static LlmRunFacts GpuBoundH200Run()
    {
        var probe = new LlmWorkModel(Facts(SyntheticRuns.Llm(SyntheticRuns.H200, 1, 1, 30e9)));
        return Facts(SyntheticRuns.Llm(SyntheticRuns.H200,
            ttftMs: SyntheticRuns.PrefillMs("h200", probe.PrefillFlops(8), 0.7),
            tpotMs: SyntheticRuns.DecodeMs("h200", probe.DecodeBytes(8), 0.95),
            30e9));
    }

    /// <summary>The decoder answer: these tests pin how precision changes the calibrated model; ProjectionAnswerTests the engine.</summary>
    private static ProjectionResult Project(LlmRunFacts facts, string target, ProjectionOptions options) =>
        RooflineProjector.Project(facts, Catalog.Get("h200"), Catalog.Get(target),
            options with { Answer = options.Answer ?? ProjectionAnswers.Decoder });

    [Fact]
    public void Fp8_halves_the_weight_bytes_and_runs_on_the_fp8_ceiling_at_the_runs_efficiency()
    {
        LlmRunFacts run = GpuBoundH200Run();
        ProjectionResult bf16 = Project(run, "h200", new ProjectionOptions());
        ProjectionResult fp8 = Project(run, "h200", new ProjectionOptions { Dtype = "fp8" });

        // Decode is bandwidth-bound at 0.95: the step shrinks as its bytes do (weights 60 -> 30 GB, KV cache unchanged in bf16).
        var before = new LlmWorkModel(run);
        var after = new LlmWorkModel(run, Precision.OfRun(run).With("fp8", null));
        Assert.Equal(30e9 + (before.DecodeBytes(8) - 60e9), after.DecodeBytes(8), 0);
        Assert.Equal(after.DecodeBytes(8) / before.DecodeBytes(8), fp8.Metrics.TpotMs.Value / bf16.Metrics.TpotMs.Value, 6);

        // Prefill is compute-bound at 0.7 of the measured bf16 ceiling (781 TFLOP/s): the same share of the measured fp8 one (1,453).
        Assert.Equal(781.0 / 1453.0, fp8.Metrics.TtftMs.Value / bf16.Metrics.TtftMs.Value, 6);

        Assert.True(fp8.Precision.Changed);
        Assert.Contains("measured fp8 ceilings of h200", fp8.Precision.MeasuredBy, StringComparison.Ordinal);
        Assert.Equal(1, fp8.Precision.EfficiencyFactor.Low);
        Assert.Equal(30.0, fp8.Memory.WeightsGb, 3);
    }

    /// <summary>
    /// A harness fp8 run is weight-only (W8A16: its result has weight_quantization): its products ran in 16 bits, so its prefill
    /// efficiency is carried against the bf16 ceiling, not fp8's twice-as-high one; a target in fp8 is assumed to compute the
    /// same way, another dtype is a change of precision. Without weight_quantization, fp8 is fp8 products.
    /// </summary>
    [Fact]
    public void A_weight_only_fp8_run_computes_in_16_bits_and_so_does_a_target_in_fp8()
    {
        ResultDocument doc = SyntheticRuns.Llm(SyntheticRuns.H200, 200, 10, 30e9);
        doc.HarnessVersion = "1.0.0+test"; // the harness's own result, read typed
        doc.Config[Harness.Metrics.ConfigKeys.Parameters] = 30e9;
        doc.Config["dtype"] = "fp8";
        doc.Config["kv_dtype"] = "fp16";
        Precision fp8Products = Precision.OfRun(Facts(doc));
        Assert.Equal(("fp8", false), (fp8Products.ComputeDtype, fp8Products.WeightOnlyProducts));

        doc.Config[Harness.Metrics.ConfigKeys.WeightQuantization] = "fp8 e4m3, block 128, fp32 scales, weight-only";
        LlmRunFacts run = Facts(doc);
        Precision weightOnly = Precision.OfRun(run);
        Assert.Equal(("bf16", "fp8 weight-only (KV cache fp16)"), (weightOnly.ComputeDtype, weightOnly.ToString()));
        Assert.Equal("bf16", weightOnly.With("fp8", null).ComputeDtype);
        Assert.Equal("fp4", weightOnly.With("fp4", null).ComputeDtype);
        Assert.Equal("bf16", weightOnly.ComputeDtypeOn(Catalog.Get("h200")));

        ProjectionResult same = Project(run, "h200", new ProjectionOptions());
        Assert.False(same.Precision.Changed);
        Assert.True(Project(run, "gb200", new ProjectionOptions { Dtype = "fp4" }).Precision.Changed);
    }

    [Fact]
    public void A_dtype_measured_on_neither_card_widens_the_error_bars_by_the_stated_rule()
    {
        LlmRunFacts run = GpuBoundH200Run();
        ProjectionResult widened = Project(run, "gb200", new ProjectionOptions { Dtype = "fp4" });
        ProjectionResult unwidened = Project(run, "gb200", new ProjectionOptions { Dtype = "fp4", Priors = ProjectionPriors.Default with { UnmeasuredDtypeChangePerStep = 0 } });

        // bf16 -> fp4 is two halvings: x (1 - 0.11)^2 = 0.7921 to x 1 / 0.7921.
        Assert.Equal("neither card", widened.Precision.MeasuredBy);
        Assert.Equal(0.7921, widened.Precision.EfficiencyFactor.Low, 9);
        Assert.Equal(1 / 0.7921, widened.Precision.EfficiencyFactor.High, 9);
        Assert.Equal(unwidened.Metrics.TpotMs.Value, widened.Metrics.TpotMs.Value, 9);
        Assert.True(widened.Metrics.TpotMs.High >= widened.Metrics.TpotMs.Value / 0.7921 * 0.999);
        Assert.True(widened.Metrics.TtftMs.Low < unwidened.Metrics.TtftMs.Low);
        Assert.Contains(widened.Basis, b => b is { Part: "precision", Source: "assumed" });
        Assert.Contains(widened.Basis, b => b is { Part: "latencies", Source: "measured" });
        Assert.Contains(widened.Basis, b => b.Part == "compute ceilings" && b.Source == "catalog" && b.Detail.Contains("gb200 fp4 10,000 TFLOP/s", StringComparison.Ordinal));
        // NVFP4 stores 4.5 bits per weight with its scales.
        Assert.Equal(30e9 * 0.5625 / 1e9, widened.Memory.WeightsGb, 3);
    }

    [Fact]
    public void Fp4_weights_on_a_card_without_fp4_read_fp4_bytes_and_compute_in_fp8()
    {
        // Weight-only quantization (gpt-oss's MXFP4 experts on Hopper): the products run at the fp8 rate.
        ProjectionResult p = Project(GpuBoundH200Run(), "h100-sxm", new ProjectionOptions { Dtype = "fp4" });
        Assert.Contains("weights stored in fp4, widened to fp8 for the matrix products", p.Precision.Rule, StringComparison.Ordinal);
        Assert.Contains("fp8 measured on a card", p.Precision.Rule, StringComparison.Ordinal);
        Assert.Equal(30e9 * 0.5625 / 1e9, p.Memory.WeightsGb, 3);
        Assert.Contains(p.Basis, b => b.Part == "compute ceilings" && b.Detail.Contains("h100-sxm fp8 1,402.6 TFLOP/s", StringComparison.Ordinal));
    }

    [Fact]
    public void The_widening_per_halving_is_the_catalogs_largest_bf16_to_fp8_change()
    {
        // Per card with both measured: 1 - (fp8 measured / fp8 peak) / (bf16 measured / bf16 peak); H100 SXM:
        // 1 - (1,402.6 / 1,979) / (786.5 / 989) = 1 - 0.7087 / 0.7953 = 0.109, the largest.
        double largest = Catalog.Devices
            .Where(d => d.MeasuredFlops("bf16") is not null && d.MeasuredFlops("fp8") is not null && d.PeakFlops("bf16") is not null && d.PeakFlops("fp8") is not null)
            .Max(d => 1 - (d.MeasuredFlops("fp8")!.Value / d.PeakFlops("fp8")!.Value) / (d.MeasuredFlops("bf16")!.Value / d.PeakFlops("bf16")!.Value));
        Assert.Equal(0.109, largest, 3);
        Assert.Equal(Math.Round(largest, 2), ProjectionPriors.Default.UnmeasuredDtypeChangePerStep);
    }

    [Fact]
    public void The_kv_cache_has_its_own_dtype()
    {
        LlmRunFacts run = GpuBoundH200Run();
        ProjectionResult bf16 = Project(run, "h200", new ProjectionOptions { Dtype = "fp8" });
        ProjectionResult fp8 = Project(run, "h200", new ProjectionOptions { Dtype = "fp8", KvDtype = "fp8" });
        Assert.Equal(bf16.Memory.KvCacheGb / 2, fp8.Memory.KvCacheGb, 3);
        Assert.Equal("fp8", fp8.Precision.TargetKvCache);
        Assert.Contains(bf16.Basis, b => b is { Part: "KV cache dtype", Source: "assumed" });
    }

    [Theory]
    [InlineData("a100-sxm", "fp32", null, "no matrix-product rate at fp32 or wider for a100-sxm")]
    [InlineData("h200", "fp9", null, "--dtype 'fp9' is not a known dtype")]
    [InlineData("h200", null, "int3", "--kv-dtype 'int3' is not a known dtype")]
    public void A_dtype_the_target_cannot_run_or_that_does_not_exist_is_bad_input(string target, string? dtype, string? kv, string expected)
    {
        var e = Assert.Throws<HarnessException>(() => Project(GpuBoundH200Run(), target, new ProjectionOptions { Dtype = dtype, KvDtype = kv }));
        Assert.Equal(ExitCodes.BadInput, e.ExitCode);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_larger_model_of_the_family_takes_its_own_bytes_and_scales_the_host_overhead_by_layers()
    {
        // A host-bound 32-layer run: 12 ms per step where its GPU work takes a fraction of that.
        LlmRunFacts run = Facts(SyntheticRuns.Llm(SyntheticRuns.H200, ttftMs: 95, tpotMs: 12, parameters: 8e9));
        ProjectionResult p = Project(run, "h200", new ProjectionOptions { Model = ModelCatalog.Load("llama-70b"), Dtype = "fp8" });

        Assert.Equal("llama-70b", p.Target.Model);
        Assert.Equal(70.554, p.Memory.WeightsGb, 3);
        Assert.Contains(p.Basis, b => b.Part == "model change" && b.Source == "assumed" && b.Detail.Contains("x2.5", StringComparison.Ordinal));
        // 80 / 32 layers: the host overhead of a step grows 2.5 times; the TPOT at least that.
        Assert.True(p.Metrics.TpotMs.Value >= 12 * 2.5 * 0.999, p.Metrics.TpotMs.ToString());
    }

    [Fact]
    public void A_mixture_of_experts_fits_all_its_experts_and_reads_the_touched_ones()
    {
        LlmRunFacts run = GpuBoundH200Run();
        DecoderConfig moe = ModelCatalog.Load("gpt-oss-120b");
        ProjectionResult one = Project(run, "gb200", new ProjectionOptions { Model = moe, Dtype = "fp4", Batch = 1 });
        ProjectionResult many = Project(run, "gb200", new ProjectionOptions { Model = moe, Dtype = "fp4", Batch = 256 });

        Assert.Equal(116_789_232_960 * 0.5625 / 1e9, one.Memory.WeightsGb, 3);
        Assert.Contains(one.Basis, b => b.Part == "experts read" && b.Detail.Contains("reads 4 of 128 experts", StringComparison.Ordinal));
        Assert.Contains(many.Basis, b => b.Part == "experts read" && b.Detail.Contains("reads 128 of 128", StringComparison.Ordinal));
        // Batch 1 reads 4 of 128 experts: a step far shorter than reading all weights would be.
        var work = new LlmWorkModel(run, new Precision("fp4", "bf16"), moe);
        Assert.True(work.DecodeBytes(1) < 0.1 * work.WeightBytes!.Value);
        Assert.True(work.DecodeBytes(256) > 0.9 * work.WeightBytes!.Value);
    }

    [Fact]
    public void Batch_max_is_the_largest_batch_whose_kv_cache_fits()
    {
        LlmRunFacts run = GpuBoundH200Run();
        ProjectionResult p = Project(run, "h200", new ProjectionOptions { FillMemory = true });
        var work = new LlmWorkModel(run);
        HardwareSpec h200 = Catalog.Get("h200");
        Assert.True(RooflineProjector.Memory(work, h200, p.Target.Batch, 1, ProjectionPriors.Default).Fits);
        Assert.False(RooflineProjector.Memory(work, h200, p.Target.Batch + 1, 1, ProjectionPriors.Default).Fits);
        Assert.Contains(p.Basis, b => b.Part == "batch" && b.Source == "assumed");
    }

    private static PublishedThroughput Figure(double perGpu = 2_909, int tp = 1) => new()
    {
        Source = "test table",
        Card = "h200",
        Model = "llama-70b",
        Dtype = "fp8",
        KvDtype = "fp8",
        Tp = tp,
        PromptTokens = 1000,
        NewTokens = 1000,
        OutputTokensPerSPerGpu = perGpu,
    };

    [Fact]
    public void A_published_figure_becomes_latencies_that_reproduce_it_on_its_own_card()
    {
        HardwareSpec h200 = Catalog.Get("h200");
        LlmRunFacts facts = Figure().Facts(h200, "figure.json");

        // Request time T = batch x new / (tokens/s per GPU x TP) = TTFT + 999 TPOT, at each split.
        double request = facts.Batch * 1000.0 / 2_909 * 1000;
        Assert.Equal(request, facts.Ttft.P50 + 999 * facts.Tpot.P50, 6);
        Assert.Equal(request, facts.Ttft.MedianCiLow!.Value + 999 * facts.Tpot.MedianCiHigh!.Value, 6);
        Assert.Equal(request, facts.Ttft.MedianCiHigh!.Value + 999 * facts.Tpot.MedianCiLow!.Value, 6);
        Assert.True(RooflineProjector.Memory(new LlmWorkModel(facts), h200, facts.Batch, 1, ProjectionPriors.Default).Fits);
        Assert.False(RooflineProjector.Memory(new LlmWorkModel(facts), h200, facts.Batch + 1, 1, ProjectionPriors.Default).Fits);

        ProjectionResult self = RooflineProjector.Project(facts, h200, h200);
        Assert.Equal(2_909, self.Metrics.OutputTokensPerSPerGpu.Value, 6);
        Assert.Equal(2_909, self.Metrics.OutputTokensPerSPerGpu.Low, 6);
        Assert.Contains(self.Basis, b => b.Source == "published" && b.Detail.Contains("test table", StringComparison.Ordinal));
        Assert.Contains(self.Basis, b => b is { Part: "latencies", Source: "assumed" });
    }

    [Fact]
    public void A_published_figure_projects_to_another_card_and_precision_without_host_overhead()
    {
        HardwareSpec h200 = Catalog.Get("h200");
        LlmRunFacts facts = Figure().Facts(h200, "figure.json");
        ProjectionResult p = RooflineProjector.Project(facts, h200, Catalog.Get("gb200"), new ProjectionOptions { Dtype = "fp4", FillMemory = true });

        Assert.Equal(0, p.Calibration.Decode.HostOverheadMs.Value);
        Assert.True(p.Target.Batch > facts.Batch);
        Assert.True(p.Metrics.OutputTokensPerSPerGpu.Value > 2_909 * 2);
        Assert.True(p.Metrics.OutputTokensPerSPerGpu.Low < p.Metrics.OutputTokensPerSPerGpu.Value);
    }

    [Theory]
    [InlineData("{\"kind\":\"published_throughput\",\"source\":\"x\",\"card\":\"h200\",\"model\":\"llama-70b\",\"dtype\":\"fp8\",\"prompt_tokens\":1000,\"new_tokens\":1000}", "not valid")]
    [InlineData("{\"kind\":\"published_throughput\",\"source\":\"x\",\"card\":\"h200\",\"model\":\"llama-70b\",\"dtype\":\"fp8\",\"prompt_tokens\":1000,\"new_tokens\":1000,\"output_tokens_per_s_per_gpu\":-1}", "positive output_tokens_per_s_per_gpu")]
    [InlineData("{\"kind\":\"published_throughput\",\"source\":\"x\",\"card\":\"h200\",\"model\":\"llama-70b\",\"dtype\":\"fp8\",\"prompt_tokens\":1000,\"new_tokens\":1000,\"output_tokens_per_s_per_gpu\":1,\"extra\":1}", "not valid")]
    public void A_bad_published_figure_is_one_sentence(string json, string expected)
    {
        var e = Assert.Throws<HarnessException>(() => PublishedThroughput.Parse(json, "f.json"));
        Assert.Equal(ExitCodes.BadInput, e.ExitCode);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }
}
