using System.Text.Json;
using Harness.Hardware.Catalog;
using Harness.Metrics;
using Harness.Projection;
using Harness.Results;

namespace Harness.Tests.Projection;

/// <summary>
/// The two answers a projection gives: this harness's decoder (host overhead carried over) and a production engine
/// (device time + a residual).
/// </summary>
public class ProjectionAnswerTests
{
    private static readonly HardwareCatalog Catalog = HardwareCatalog.Default;

    private static ProjectionResult Project(
        ResultDocument doc, string source, string target, string? answer, ProjectionPriors? priors = null) =>
        RooflineProjector.Project(LlmResultReader.Read(doc, "synthetic.json"), Catalog.Get(source), Catalog.Get(target),
            new ProjectionOptions { Answer = answer, Priors = priors ?? ProjectionPriors.Default });

    /// <summary>A 1B model at batch 1 on an H100, host-bound: TPOT 9 ms where its 2 GB of weights take well under 1 ms.</summary>
    private static ResultDocument HostBound(bool cudaGraph = false)
    {
        ResultDocument doc = SyntheticRuns.Llm(SyntheticRuns.H100, ttftMs: 9, tpotMs: 9, parameters: 1e9, batch: 1);
        if (cudaGraph)
        {
            doc.Config[ConfigKeys.CudaGraph] = true;
        }

        return doc;
    }

    /// <summary>
    /// Decode bytes of one step of <see cref="HostBound"/> over <paramref name="card"/>'s bandwidth at the 0.8 prior, ms: its
    /// measured copy ceiling where the other card of the pair has one too, else its datasheet peak.
    /// </summary>
    private static double DeviceMs(string card, string other)
    {
        double bytes = new LlmWorkModel(LlmResultReader.Read(HostBound(), "p")).DecodeBytes(1);
        HardwareSpec c = Catalog.Get(card), o = Catalog.Get(other);
        double bandwidth = c.MeasuredBandwidth is { } m && o.MeasuredBandwidth is not null ? m : c.PeakBandwidth!.Value;
        return bytes / (bandwidth * ProjectionPriors.Default.DecodeEfficiency) * 1000;
    }

    [Fact]
    public void The_answers_differ_exactly_by_the_host_overhead_term_as_a_hand_calculation_gives()
    {
        ProjectionResult decoder = Project(HostBound(), "h100-sxm", "gb200", ProjectionAnswers.Decoder);
        ProjectionResult engine = Project(HostBound(), "h100-sxm", "gb200", ProjectionAnswers.Engine);
        Assert.Equal("datasheet peaks", engine.Calibration.BandwidthBasis);

        // By hand: the run's device time at the 0.8 prior on the H100's 3.35 TB/s, the rest of 9 ms is host overhead.
        double runDevice = DeviceMs("h100-sxm", "gb200"), device = DeviceMs("gb200", "h100-sxm");
        double host = 9 - runDevice;
        double overlapped = Math.Max(9, device), serial = host + device;
        Assert.Equal(Math.Sqrt(overlapped * serial), decoder.Metrics.TpotMs.Value, 9);

        // The engine: device time + the assumed 0.5 ms; against the decoder's serial form only the host term differs.
        Assert.Equal(device + 0.5, engine.Metrics.TpotMs.Value, 9);
        Assert.Equal(host - 0.5, serial - engine.Metrics.TpotMs.Value, 9);
        Assert.True(engine.Metrics.OutputTokensPerS.Value > decoder.Metrics.OutputTokensPerS.Value);
    }

    [Theory]
    [InlineData("h100-sxm", "gb200")]
    [InlineData("h100-sxm", "h200")]
    [InlineData("h100-sxm", "h100-sxm")]
    [InlineData("h100-sxm", "b200")]
    public void The_engine_answer_never_has_a_tpot_below_device_time(string source, string target)
    {
        ProjectionResult engine = Project(HostBound(), source, target, ProjectionAnswers.Engine);
        ProjectionPriors noResidual = ProjectionPriors.Default with { EngineResidualMs = 0 };
        ProjectionResult deviceOnly = Project(HostBound(), source, target, ProjectionAnswers.Engine, noResidual);

        Assert.Equal(DeviceMs(target, source), deviceOnly.Metrics.TpotMs.Value, 9);
        Assert.Equal(deviceOnly.Metrics.TpotMs.Value + 0.5, engine.Metrics.TpotMs.Value, 9);
        Assert.Equal(deviceOnly.Metrics.TpotMs.Low + 0.5, engine.Metrics.TpotMs.Low, 9);
        Assert.Equal(deviceOnly.Metrics.TpotMs.High + 0.5, engine.Metrics.TpotMs.High, 9);
        Assert.Equal(deviceOnly.Percentiles["p99"].TpotMs.Value + 0.5, engine.Percentiles["p99"].TpotMs.Value, 9);
    }

    [Fact]
    public void By_default_the_measured_card_gets_the_decoder_and_another_card_the_engine()
    {
        ProjectionResult self = Project(HostBound(), "h100-sxm", "h100-sxm", answer: null);
        ProjectionResult other = Project(HostBound(), "h100-sxm", "gb200", answer: null);

        Assert.Equal(ProjectionAnswers.Decoder, self.Answer.Name);
        Assert.Equal(9, self.Metrics.TpotMs.Value, 9); // the run itself
        Assert.Null(self.Answer.ResidualMsPerStep);
        Assert.Equal(ProjectionAnswers.Engine, other.Answer.Name);
        Assert.Equal(DeviceMs("gb200", "h100-sxm") + 0.5, other.Metrics.TpotMs.Value, 9);
    }

    [Fact]
    public void An_unknown_answer_is_bad_input()
    {
        var e = Assert.Throws<HarnessException>(() => Project(HostBound(), "h100-sxm", "gb200", "fastest"));
        Assert.Equal(ExitCodes.BadInput, e.ExitCode);
        Assert.Contains("--answer 'fastest' is neither decoder", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_cuda_graph_run_gives_the_engine_its_measured_residual()
    {
        ProjectionResult engine = Project(HostBound(cudaGraph: true), "h100-sxm", "gb200", ProjectionAnswers.Engine);

        double residual = 9 - DeviceMs("h100-sxm", "gb200"); // the run's own host overhead per step, serial fit
        Assert.Equal(residual, engine.Answer.ResidualMsPerStep!.Value, 9);
        Assert.Equal("measured", engine.Answer.ResidualSource);
        Assert.Contains("CUDA graph", engine.Answer.ResidualBasis, StringComparison.Ordinal);
        Assert.Equal(DeviceMs("gb200", "h100-sxm") + residual, engine.Metrics.TpotMs.Value, 9);
        Assert.Contains(engine.Basis, b => b.Source == "measured" && b.Part == "engine residual per step");
        Assert.True(engine.Source.CudaGraph);
    }

    [Fact]
    public void Every_output_names_its_answer_and_the_engines_residual_and_its_source()
    {
        ProjectionResult engine = Project(HostBound(), "h100-sxm", "gb200", ProjectionAnswers.Engine);
        ProjectionResult decoder = Project(HostBound(), "h100-sxm", "gb200", ProjectionAnswers.Decoder);

        string text = ProjectionReport.Render(engine);
        Assert.Contains("Answer (engine): a production engine on gb200, device time only", text, StringComparison.Ordinal);
        Assert.Contains("residual of 0.5 ms (assumed)", text, StringComparison.Ordinal);
        Assert.Contains("- engine residual per step: 0.5 ms at p50: the run is not a CUDA-graph run: 0.5 ms per pass assumed", text,
            StringComparison.Ordinal);
        Assert.Contains("Answer (decoder): this harness's decoder on gb200", ProjectionReport.Render(decoder), StringComparison.Ordinal);

        using JsonDocument json = JsonDocument.Parse(JsonSerializer.Serialize(engine, ResultJson.Options));
        JsonElement a = json.RootElement.GetProperty("answer");
        Assert.Equal("engine", a.GetProperty("name").GetString());
        Assert.Equal(0.5, a.GetProperty("residual_ms_per_step").GetDouble());
        Assert.Equal("assumed", a.GetProperty("residual_source").GetString());
        using JsonDocument plain = JsonDocument.Parse(JsonSerializer.Serialize(decoder, ResultJson.Options));
        Assert.Equal("decoder", plain.RootElement.GetProperty("answer").GetProperty("name").GetString());
    }
}
