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
    /// on a GPU) are reproduced within 5%. Medians of 7 steps; the waits sleep (nanosleep) rather
    /// than spin, and their typical lateness is aimed off. A wake-up later than half a step (a
    /// machine loaded far beyond its cores) still adds to the step; how late plain 14 ms sleeps wake
    /// just before and just after the measurement is added to the margin (the exact logic is checked
    /// on the fake clock above).
    /// </summary>
    [Fact]
    public void Reproduces_a_measured_result_within_5_percent_on_the_real_clock()
    {
        using var dir = new TempDir();
        string path = WriteResult(dir.Path, ttft: 48.0, tpot: 14.0, batch: 1, prompt: 128);
        using var llm = new LatencyModelDecoder(LatencyModel.FromResult(path));
        double before = SleepOvershootMs(14.0);
        (double ttft, double tpot) = Measure(llm, StopwatchClock.Instance, batch: 1, prompt: 128, tokens: 16, steps: 7);
        // The load changes within the run: the later of the lateness just before and just after it
        // (after alone failed once more at TPOT 15.07 against 14.93 with the suite at load 12-17).
        double margin = 0.05 + (Math.Max(before, SleepOvershootMs(14.0)) / 14.0);
        Assert.InRange(ttft, 48.0 * (1 - margin), 48.0 * (1 + margin));
        Assert.InRange(tpot, 14.0 * (1 - margin), 14.0 * (1 + margin));
    }

    /// <summary>Mean lateness of 15 plain <see cref="PreciseWaiter"/> sleeps of <paramref name="ms"/> (one decode's worth) right now.</summary>
    private static double SleepOvershootMs(double ms)
    {
        IClock clock = StopwatchClock.Instance;
        var late = new List<double>();
        for (int i = 0; i < 15; i++)
        {
            long due = clock.Timestamp + (long)(ms * clock.Frequency / 1000);
            PreciseWaiter.Instance.WaitUntil(due, CancellationToken.None);
            late.Add(clock.ToMilliseconds(clock.Timestamp - due));
        }

        return late.Average();
    }

    private static double Median(List<double> v) => v.Order().ElementAt(v.Count / 2);
}
