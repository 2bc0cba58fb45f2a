using Harness.Decoding;
using Harness.Engine;
using Harness.Measurement;
using Harness.Results;
using Harness.Tests.Fakes;

namespace Harness.Tests.Decoding;

[Collection(TimingCollection.Name)]
public class LatencyModelTests
{
    /// <summary>Runs steps of the measured shape through the decoder and measures TTFT and TPOT as a caller does.</summary>
    internal static (double TtftMs, double TpotMs) Measure(IStepDecoder llm, IClock clock, int batch, int prompt, int tokens, int steps)
    {
        var ttft = new List<double>();
        var tpot = new List<double>();
        for (int s = 0; s < steps; s++)
        {
            var seqs = Enumerable.Range(0, batch).Select(a => new DecodeSequence(a, prompt, tokens)).ToList();
            long submit = clock.Timestamp;
            llm.Step(seqs, [], CancellationToken.None);
            long first = clock.Timestamp;
            for (int k = 1; k < tokens; k++)
            {
                llm.Step([], seqs, CancellationToken.None);
            }

            long end = clock.Timestamp;
            ttft.Add(clock.ToMilliseconds(first - submit));
            tpot.Add(clock.ToMilliseconds(end - first) / (tokens - 1));
        }

        return (Median(ttft), Median(tpot));
    }

    internal static string WriteResult(string dir, double ttft, double tpot, int batch, int prompt)
    {
        DistributionSummary D(double v) => DistributionSummary.FromMilliseconds([v, v, v]);
        var doc = new ResultDocument
        {
            Workload = "generate",
            Backend = "onnx:cuda",
            Config = new Dictionary<string, object?> { ["batch"] = batch, ["prompt_tokens"] = prompt },
            Metrics = new ResultMetrics { TtftMs = D(ttft), TpotMs = D(tpot), LatencyMs = D(ttft + tpot * 127) },
        };
        string path = Path.Combine(dir, "generate.json");
        AtomicFile.WriteAllText(path, ResultJson.Serialize(doc));
        return path;
    }

    [Fact]
    public void Reproduces_a_measured_result_exactly_on_a_fake_clock()
    {
        using var dir = new TempDir();
        string path = WriteResult(dir.Path, ttft: 41.7, tpot: 6.3, batch: 1, prompt: 128);
        LatencyModel model = LatencyModel.FromResult(path);
        var clock = new FakeClock();
        using var llm = new LatencyModelDecoder(model, clock, new FakeWaiter(clock));
        (double ttft, double tpot) = Measure(llm, clock, batch: 1, prompt: 128, tokens: 128, steps: 5);
        Assert.Equal(41.7, ttft, 6);
        Assert.Equal(6.3, tpot, 6);
    }

    [Fact]
    public void A_prefill_rate_is_anchored_to_the_measured_shape()
    {
        using var dir = new TempDir();
        string path = WriteResult(dir.Path, ttft: 100, tpot: 10, batch: 4, prompt: 256);
        LatencyModel model = LatencyModel.FromResult(path, prefillMsPerToken: 0.05, tpotMsPerSequence: 0.5);
        Assert.Equal(100, model.PrefillMs(4 * 256), 9);     // the measured shape: exactly the measured TTFT
        Assert.Equal(10, model.DecodeMs(4), 9);             // and TPOT
        Assert.Equal(100 - (0.05 * 1024) + (0.05 * 100), model.PrefillMs(100), 9);
        Assert.Equal(10 - 1.5, model.DecodeMs(1), 9);
        Assert.Contains("generate on onnx:cuda", model.Source);
        // Beside 3 decoding sequences, a joining step rides on their pass: max(ttft, decode of 4) + its tokens.
        Assert.Equal(Math.Max(model.TtftMs, model.DecodeMs(4)) + (0.05 * 100), model.IterationMs(1, 100, 3), 9);
    }

    [Fact]
    public void A_result_without_token_timings_is_bad_input()
    {
        using var dir = new TempDir();
        string path = Path.Combine(dir.Path, "resnet.json");
        AtomicFile.WriteAllText(path, ResultJson.Serialize(new ResultDocument { Workload = "resnet18", Metrics = new ResultMetrics { LatencyMs = DistributionSummary.FromMilliseconds([1.0]) } }));
        var e = Assert.Throws<HarnessException>(() => LatencyModel.FromResult(path));
        Assert.Contains("no ttft_ms", e.Message);
    }

    [Fact]
    public void Back_to_back_iterations_do_not_accumulate_late_wake_ups()
    {
        var clock = new FakeClock();
        var late = new FakeWaiter(clock, lateBy: TimeSpan.FromMilliseconds(0.4));
        using var llm = new LatencyModelDecoder(new LatencyModel { TtftMs = 10, TpotMs = 5 }, clock, late);
        var seq = new[] { new DecodeSequence(0, 1, 101) };
        long start = clock.Timestamp;
        llm.Step(seq, [], CancellationToken.None);
        for (int i = 0; i < 100; i++)
        {
            llm.Step([], seq, CancellationToken.None);
        }

        // 10 + 100 x 5 ms: neither 101 late wake-ups (550.4 ms) nor one (510.4): the lateness is aimed off.
        Assert.InRange(clock.ToMilliseconds(clock.Timestamp - start), 509.9, 510.2);
    }

    [Theory]
    [InlineData(null, 5.0, null, "go together")]
    [InlineData(1.0, 5.0, "x.json", "takes TTFT and TPOT from the file")]
    [InlineData(-1.0, 5.0, null, "at least 0")]
    public void Option_mistakes_are_one_sentence(double? ttft, double? tpot, string? result, string expected)
    {
        var e = Assert.Throws<HarnessException>(() => LatencyModelSpec.FromOptions(ttft, tpot, null, null, result, null));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Cards_parse_presets_and_numbers()
    {
        Assert.Same(LatencyModel.H100Gpt2, LatencyModelSpec.ParseCard("h100-gpt2").Model);
        (string name, LatencyModel m) = LatencyModelSpec.ParseCard("b200=ttft:8,tpot:4.5,prefill:0.01,tpot_per_seq:0.02");
        Assert.Equal(("b200", 8.0, 4.5, 0.01, 0.02), (name, m.TtftMs, m.TpotMs, m.PrefillMsPerToken, m.TpotMsPerSequence));
        Assert.Contains("unknown key", Assert.Throws<HarnessException>(() => LatencyModelSpec.ParseCard("x=ttft:1,tpot:2,speed:3")).Message);
    }

    /// <summary>
    /// Integration, on the real clock: TTFT and TPOT p50 of a measured result (a Llama-1B-like decode
    /// on a GPU) are reproduced within 5%, plus what this machine adds to any timed wait right now:
    /// the latest wake-up of 35 plain waits of the same lengths, measured between the executor's
    /// steps (the median of 7 steps lies beyond that only if the machine got slower in between).
    /// The executor aims off the typical lateness, so it does no worse than a plain wait; on a quiet
    /// machine (lateness ~0.1 ms) the bound is the 5% it always was. That late wake-ups never add up
    /// is shown exactly on the fake clock (<see cref="Back_to_back_iterations_do_not_accumulate_late_wake_ups"/>).
    /// Medians of 7 steps.
    /// </summary>
    [Fact]
    public void Reproduces_a_measured_result_within_5_percent_on_the_real_clock()
    {
        using var dir = new TempDir();
        string path = WriteResult(dir.Path, ttft: 48.0, tpot: 14.0, batch: 1, prompt: 128);
        using var llm = new LatencyModelDecoder(LatencyModel.FromResult(path));
        var clock = StopwatchClock.Instance;
        var ttfts = new List<double>();
        var tpots = new List<double>();
        var lateMs = new List<double>();
        for (int step = 0; step < 7; step++)
        {
            (double ttft, double tpot) = Measure(llm, clock, batch: 1, prompt: 128, tokens: 16, steps: 1);
            ttfts.Add(ttft);
            tpots.Add(tpot);
            foreach (double ms in new[] { 48.0, 14.0, 14.0, 14.0, 14.0 })
            {
                long target = clock.Timestamp + (long)(ms / 1000 * clock.Frequency);
                PreciseWaiter.Instance.WaitUntil(target, CancellationToken.None);
                lateMs.Add(clock.ToMilliseconds(clock.Timestamp - target));
            }
        }

        double late = lateMs.Max();
        Assert.InRange(Median(ttfts), (48.0 * 0.95) - late, (48.0 * 1.05) + late);
        Assert.InRange(Median(tpots), (14.0 * 0.95) - late, (14.0 * 1.05) + late);
    }

    private static double Median(List<double> v) => v.Order().ElementAt(v.Count / 2);
}
