using Harness.Cost;
using Harness.Hardware.Catalog;
using Harness.Projection;
using Harness.Results;

namespace Harness.Tests.Projection;

public class RooflineProjectorTests
{
    private static readonly HardwareCatalog Catalog = HardwareCatalog.Default;

    private static LlmRunFacts Facts(ResultDocument doc) => LlmResultReader.Read(doc, "synthetic.json");

    /// <summary>These tests pin the decoder answer's calibration (host overhead carried over); ProjectionAnswerTests the engine.</summary>
    private static ProjectionResult Project(ResultDocument doc, string source, string target, ProjectionOptions? options = null) =>
        RooflineProjector.Project(Facts(doc), Catalog.Get(source), Catalog.Get(target),
            (options ?? new ProjectionOptions()) with { Answer = options?.Answer ?? ProjectionAnswers.Decoder });

    /// <summary>A run whose decode is bandwidth-bound at 95% of the copy ceiling and whose prefill is compute-bound at 70%.</summary>
    private static ResultDocument GpuBoundRun(string gpuName, string card, double parameters = 30e9, int batch = 8)
    {
        var probe = new LlmWorkModel(Facts(SyntheticRuns.Llm(gpuName, 1, 1, parameters, batch)));
        return SyntheticRuns.Llm(gpuName,
            ttftMs: SyntheticRuns.PrefillMs(card, probe.PrefillFlops(batch), 0.7),
            tpotMs: SyntheticRuns.DecodeMs(card, probe.DecodeBytes(batch), 0.95),
            parameters, batch);
    }

    [Theory]
    [InlineData(SyntheticRuns.H200, "h200", 8e9, 8, 12.0, 95.0)]    // host-bound decode (8 GB in 12 ms is far below the ceiling)
    [InlineData(SyntheticRuns.H100, "h100-sxm", 1e9, 1, 9.0, 7.0)]  // host-bound decode and prefill
    [InlineData(SyntheticRuns.H100, "h100-sxm", 30e9, 8, 25.0, 900.0)]
    public void Projecting_to_the_measured_card_reproduces_the_run(string gpu, string card, double parameters, int batch, double tpot, double ttft)
    {
        ResultDocument doc = SyntheticRuns.Llm(gpu, ttft, tpot, parameters, batch);
        ProjectionResult p = Project(doc, card, card);

        Assert.Equal(ttft, p.Metrics.TtftMs.Value, 9);
        Assert.Equal(tpot, p.Metrics.TpotMs.Value, 9);
        double measuredTps = DocumentValues.ExtraNumber(doc.Metrics, "output_tokens_per_s")!.Value;
        Assert.Equal(measuredTps, p.Metrics.OutputTokensPerS.Value, 6);
        Assert.Equal(ttft * 1.1, p.Percentiles["p99"].TtftMs.Value, 9);
        Assert.Equal(tpot * 1.1, p.Percentiles["p99"].TpotMs.Value, 9);
        Assert.Equal(1, p.Target.TensorParallel);
    }

    [Fact]
    public void Self_projection_of_a_gpu_bound_run_reproduces_it_too()
    {
        ProjectionResult p = Project(GpuBoundRun(SyntheticRuns.H200, "h200"), "h200", "h200");
        Assert.Equal("gpu", p.Calibration.Decode.Bound);
        Assert.Equal(0.95, p.Calibration.Decode.EfficiencyOfCeiling.Value, 6);
        Assert.Equal(0.7, p.Calibration.Prefill.EfficiencyOfCeiling.Value, 6);
        Assert.Contains(p.Notes, n => n.Contains("self-check", StringComparison.Ordinal));
    }

    [Fact]
    public void Bandwidth_bound_decode_scales_with_memory_bandwidth()
    {
        ResultDocument doc = GpuBoundRun(SyntheticRuns.H100, "h100-sxm");
        ProjectionResult p = Project(doc, "h100-sxm", "h200");

        double ratio = doc.Metrics.TpotMs!.P50 / p.Metrics.TpotMs.Value;
        HardwareSpec h100 = Catalog.Get("h100-sxm"), h200 = Catalog.Get("h200");
        Assert.Equal(h200.MeasuredBandwidth!.Value / h100.MeasuredBandwidth!.Value, ratio, 6);       // 4.26 / 3.02 = 1.41
        Assert.InRange(ratio / (h200.PeakBandwidth!.Value / h100.PeakBandwidth!.Value), 0.97, 1.03); // datasheet 4.8 / 3.35 = 1.43
        Assert.InRange(p.Metrics.TtftMs.Value / doc.Metrics.TtftMs!.P50, 0.98, 1.02);                // same compute: prefill unchanged
        Assert.True(p.Metrics.OutputTokensPerS.Value > DocumentValues.ExtraNumber(doc.Metrics, "output_tokens_per_s"));
    }

    [Fact]
    public void Compute_bound_prefill_scales_with_peak_flops()
    {
        ResultDocument doc = GpuBoundRun(SyntheticRuns.H100, "h100-sxm", parameters: 30e9, batch: 8);
        ProjectionResult p = Project(doc, "h100-sxm", "b200");

        double ratio = doc.Metrics.TtftMs!.P50 / p.Metrics.TtftMs.Value;
        HardwareSpec h100 = Catalog.Get("h100-sxm"), b200 = Catalog.Get("b200");
        Assert.Equal(b200.MeasuredFlops("bf16")!.Value / h100.MeasuredFlops("bf16")!.Value, ratio, 6);        // 1745 / 786.5 = 2.22
        Assert.InRange(ratio / (b200.PeakFlops("bf16")!.Value / h100.PeakFlops("bf16")!.Value), 0.95, 1.05); // datasheet 2250 / 989 = 2.28
        Assert.Equal("measured matrix-product ceilings of both cards", p.Calibration.ComputeBasis);
        Assert.Equal("datasheet peaks", p.Calibration.BandwidthBasis); // no measured copy ceiling for B200
        double tpotRatio = doc.Metrics.TpotMs!.P50 / p.Metrics.TpotMs.Value;
        Assert.InRange(tpotRatio, 8.0 / 3.35 * 0.9, 8.0 / 3.35 * 1.1);
    }

    [Fact]
    public void Host_bound_decode_barely_moves_on_a_faster_card_and_the_error_bar_shows_the_doubt()
    {
        ResultDocument doc = SyntheticRuns.Llm(SyntheticRuns.H100, ttftMs: 9, tpotMs: 9, parameters: 1e9, batch: 1);
        ProjectionResult p = Project(doc, "h100-sxm", "gb200");

        Assert.Equal("host", p.Calibration.Decode.Bound);
        Assert.Equal(9, p.Calibration.Decode.HostOverheadMs.Value, 6);
        Assert.InRange(p.Metrics.TpotMs.Value, 8.5, 9);          // 2 GB of weights are a small part of 9 ms
        Assert.Equal(9 * 1.01, p.Metrics.TpotMs.High, 6);             // all host overhead (at the median CI's top)
        Assert.Equal(9 * 0.99 * 3.35 / 8.0, p.Metrics.TpotMs.Low, 6); // no host overhead: bandwidth scaling (CI bottom)
    }

    [Fact]
    public void Every_estimate_has_low_at_most_value_at_most_high()
    {
        ProjectionResult p = Project(SyntheticRuns.Llm(SyntheticRuns.H200, 95, 12, 8e9, 8, powerW: 500), "h200", "gb300",
            new ProjectionOptions { Price = PriceArgument.Parse("18/gpu-h", new DateOnly(2026, 11, 26)) });
        ProjectedMetrics m = p.Metrics;
        foreach (Estimate e in new[] { m.TtftMs, m.TpotMs, m.OutputTokensPerS, m.OutputTokensPerSPerGpu, m.Mfu, m.Mbu, m.JPerToken!.Value, m.UsdPerMtok!.Value })
        {
            Assert.True(e.Low <= e.Value && e.Value <= e.High, e.ToString());
            Assert.True(e.Low > 0, e.ToString());
        }
    }

    [Fact]
    public void Mbu_and_mfu_follow_their_definitions()
    {
        ResultDocument doc = GpuBoundRun(SyntheticRuns.H200, "h200");
        LlmRunFacts facts = Facts(doc);
        var work = new LlmWorkModel(facts);
        ProjectionResult p = Project(doc, "h200", "h200");
        HardwareSpec h200 = Catalog.Get("h200");

        Assert.Equal(work.DecodeBytes(8) / (facts.Tpot.P50 / 1000 * h200.PeakBandwidth!.Value), p.Metrics.Mbu.Value, 9);
        Assert.Equal(work.PrefillFlops(8) / (facts.Ttft.P50 / 1000 * h200.PeakFlops("bf16")!.Value), p.Metrics.Mfu.Value, 9);
    }

    [Fact]
    public void Energy_and_cost_per_token_come_from_power_price_and_projected_rate()
    {
        ResultDocument doc = SyntheticRuns.Llm(SyntheticRuns.H200, 95, 12, 8e9, 8, powerW: 350); // half of the H200's 700 W
        ProjectionResult p = Project(doc, "h200", "b200", new ProjectionOptions { Price = PriceArgument.Parse("10/gpu-h", new DateOnly(2026, 11, 26)) });

        Assert.Equal(500, p.Power!.WattsPerGpu.Value, 6); // half of the B200's 1000 W
        Assert.Equal(500 / p.Metrics.OutputTokensPerS.Value, p.Metrics.JPerToken!.Value.Value, 9);
        Assert.Equal(10 / (p.Metrics.OutputTokensPerS.Value * 3600) * 1e6, p.Metrics.UsdPerMtok!.Value.Value, 9);
    }

    [Fact]
    public void Without_a_price_the_cheapest_on_demand_offer_of_the_target_is_used()
    {
        var policy = new PriceAgePolicy(new DateOnly(2026, 11, 26));
        ProjectionResult p = Project(SyntheticRuns.Llm(SyntheticRuns.H200, 95, 12), "h200", "h100-sxm",
            new ProjectionOptions { Offers = PriceCatalog.Default.Current(policy) });
        Assert.Equal("aws/p5.48xlarge", p.Price!.Instance);
        Assert.Equal(55.04 / 8, p.Price.UsdPerHour, 9);
    }

    [Fact]
    public void A_model_too_large_for_one_gpu_gets_the_smallest_tp_that_fits_and_an_all_reduce_term()
    {
        ResultDocument doc = SyntheticRuns.Llm(SyntheticRuns.H200, 400, 40, parameters: 60e9, batch: 8,
            modelConfig: SyntheticRuns.LlamaConfig(layers: 80, hidden: 8192, heads: 64)); // 120 GB of bf16 weights
        ProjectionResult p = Project(doc, "h200", "h100-sxm");

        Assert.Equal(2, p.Target.TensorParallel);
        Assert.True(p.Memory.Fits);
        Assert.True(p.Metrics.AllReduceMsPerStep.Value > 0);
        Assert.Equal(p.Metrics.OutputTokensPerS.Value / 2, p.Metrics.OutputTokensPerSPerGpu.Value, 9);
    }

    [Fact]
    public void A_model_that_does_not_fit_at_the_given_tp_is_bad_input()
    {
        ResultDocument doc = SyntheticRuns.Llm(SyntheticRuns.H200, 400, 40, parameters: 60e9);
        var e = Assert.Throws<HarnessException>(() => Project(doc, "h200", "h100-sxm", new ProjectionOptions { TensorParallel = 1 }));
        Assert.Equal(ExitCodes.BadInput, e.ExitCode);
        Assert.Contains("does not fit even at TP 1", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_model_that_does_not_fit_the_whole_domain_is_bad_input()
    {
        ResultDocument doc = SyntheticRuns.Llm(SyntheticRuns.H200, 400, 40, parameters: 1e12);
        var e = Assert.Throws<HarnessException>(() => Project(doc, "h200", "h100-sxm"));
        Assert.Contains("even at TP 8", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Nvl72_allows_tensor_parallel_groups_beyond_eight()
    {
        ResultDocument doc = SyntheticRuns.Llm(SyntheticRuns.H200, 400, 40, parameters: 1e12, modelConfig: SyntheticRuns.LlamaConfig(layers: 120, hidden: 16384, heads: 128));
        ProjectionResult p = Project(doc, "h200", "gb200");
        Assert.Equal(16, p.Target.TensorParallel);
        Assert.Throws<HarnessException>(() => Project(doc, "h200", "gb200", new ProjectionOptions { TensorParallel = 128 }));
    }

    [Fact]
    public void A_dtype_the_target_lacks_is_widened_to_one_it_has_and_said_so()
    {
        // fp8 weights on an A100 (no fp8 rate): weight-only quantization, products in bf16, bytes read in fp8.
        ResultDocument doc = SyntheticRuns.Llm(SyntheticRuns.H200, 95, 12);
        doc.Config["dtype"] = "fp8";
        ProjectionResult p = Project(doc, "h200", "a100-sxm");
        Assert.Contains("widened to bf16 for the matrix products: the target has no fp8 rate", p.Precision.Rule, StringComparison.Ordinal);
        Assert.Equal(8.0, p.Memory.WeightsGb, 3);

        // Nothing at fp32 or wider on an A100 in the catalog.
        var e = Assert.Throws<HarnessException>(() => Project(doc, "h200", "a100-sxm", new ProjectionOptions { Dtype = "fp32" }));
        Assert.Contains("no matrix-product rate at fp32 or wider for a100-sxm", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_card_without_bandwidth_in_the_catalog_cannot_be_the_source()
    {
        ResultDocument doc = SyntheticRuns.Llm(SyntheticRuns.H200, 95, 12);
        doc.Config["dtype"] = "fp32";
        var e = Assert.Throws<HarnessException>(() => Project(doc, "epyc-dev-2c", "h100-sxm"));
        Assert.Contains("can be costed but not projected", e.Message, StringComparison.Ordinal);
    }
}
