using Harness.Gate;
using Harness.Results;
using Harness.Testing;
using Xunit.Abstractions;

namespace Harness.Tests.Gate;

/// <summary>
/// The gate on synthetic runs as a shared machine makes them (issue 19): a run-level random shift
/// with an 8% CV, and latencies autocorrelated within each run (AR(1), phi 0.9). The false-alarm
/// rate must stay at or below alpha within its binomial margin over 1,000 trials; a planted 15%
/// regression must be found as often as the power analysis says the runs allow.
/// </summary>
public class RunLevelGateTests(ITestOutputHelper output)
{
    private const int Trials = 1000;
    private static readonly GateOptions Defaults = new();

    /// <summary>alpha x trials plus 2.33 binomial standard deviations: exceeded with probability about 1%.</summary>
    private static double Margin(double alpha, int trials) => alpha * trials + 2.33 * Math.Sqrt(trials * alpha * (1 - alpha));

    [Fact]
    public void Five_runs_per_side_keep_false_alarms_at_or_below_alpha_over_1000_trials()
    {
        int gate = 0, p50 = 0, significant = 0;
        for (int t = 0; t < Trials; t++)
        {
            var rng = new Random(10_000 + t);
            GateReport r = RegressionGate.Compare(SyntheticResults.Runs(rng, 5, 7.3), SyntheticResults.Runs(rng, 5, 7.3), Defaults);
            gate += r.Verdict == GateVerdict.Regression ? 1 : 0;
            MetricComparison m = r.Metrics.Single(x => x.Metric == "latency_p50");
            p50 += m.Verdict == GateVerdict.Regression ? 1 : 0;
            significant += m.PValue < Defaults.Alpha ? 1 : 0;
        }

        output.WriteLine($"5 vs 5 runs, nothing changed: {gate} gate regressions, {p50} on latency_p50, p50 significant at alpha in {significant} of {Trials}");
        Assert.True(gate <= Margin(Defaults.Alpha, Trials), $"{gate} false alarms in {Trials}");
        // The test itself is exact: U <= 4 of 25 has probability 12/252 under no change.
        Assert.True(significant <= Margin(12.0 / 252, Trials) && significant >= 12.0 / 252 * Trials - 2.33 * Math.Sqrt(Trials * 0.0476 * 0.9524), $"{significant} significant p50 tests");
    }

    [Fact]
    public void One_run_per_side_without_a_noise_model_never_gives_a_regression_verdict()
    {
        // The issue's six-pair experiment, replayed 1,000 times: one run against one run, nothing changed.
        int regressions = 0, inconclusive = 0;
        for (int t = 0; t < Trials; t++)
        {
            var rng = new Random(20_000 + t);
            GateReport r = RegressionGate.Compare(SyntheticResults.Runs(rng, 1, 7.3), SyntheticResults.Runs(rng, 1, 7.3), Defaults);
            regressions += r.Verdict == GateVerdict.Regression ? 1 : 0;
            inconclusive += r.Verdict == GateVerdict.Inconclusive ? 1 : 0;
        }

        Assert.Equal(0, regressions);
        Assert.Equal(Trials, inconclusive);
    }

    [Fact]
    public void One_run_per_side_without_a_noise_model_says_variance_was_not_measured_and_how_many_runs_would_do()
    {
        var rng = new Random(3);
        List<ResultDocument> b = SyntheticResults.Runs(rng, 1, 6.39, runCv: 0), c = SyntheticResults.Runs(rng, 1, 8.02, runCv: 0);

        GateReport r = RegressionGate.Compare(b, c, Defaults);

        Assert.Equal(ExitCodes.Inconclusive, r.ExitCode);
        MetricComparison p50 = r.Metrics.Single(m => m.Metric == "latency_p50");
        Assert.Contains("run-to-run variance was not measured", p50.Reason, StringComparison.Ordinal);
        Assert.Matches(@"about \d+ runs per side would resolve a change of this size \(\+2\d", p50.Reason);
        Assert.Contains(r.Notes, n => n.Contains("harness run --repeat 5", StringComparison.Ordinal));
    }

    [Fact]
    public void One_run_per_side_with_a_history_noise_model_keeps_false_alarms_at_or_below_alpha()
    {
        int alarms = 0;
        for (int t = 0; t < Trials; t++)
        {
            var rng = new Random(30_000 + t);
            List<ResultDocument> history = SyntheticResults.Runs(rng, 20, 7.3);
            GateReport r = RegressionGate.Compare(SyntheticResults.Runs(rng, 1, 7.3), SyntheticResults.Runs(rng, 1, 7.3), Defaults with { Metrics = ["latency_p50"], DefaultThreshold = 0.1 }, noiseRuns: history);
            alarms += r.Verdict == GateVerdict.Regression ? 1 : 0;
        }

        output.WriteLine($"1 vs 1 run with a 20-run history as the noise model, threshold 0.1%: {alarms} false alarms in {Trials}");
        Assert.True(alarms <= Margin(Defaults.Alpha, Trials), $"{alarms} false alarms in {Trials}");
    }

    [Fact]
    public void A_history_baseline_keeps_false_alarms_at_or_below_alpha_and_places_the_current_run()
    {
        int alarms = 0;
        GateReport? last = null;
        for (int t = 0; t < Trials; t++)
        {
            var rng = new Random(40_000 + t);
            last = RegressionGate.Compare(SyntheticResults.Runs(rng, 30, 7.3), SyntheticResults.Runs(rng, 1, 7.3), Defaults with { Metrics = ["latency_p50"], DefaultThreshold = 0.1, BaseIsHistory = true });
            alarms += last.Verdict == GateVerdict.Regression ? 1 : 0;
        }

        output.WriteLine($"30-run history vs 1 run, threshold 0.1%: {alarms} false alarms in {Trials}");
        Assert.True(alarms <= Margin(Defaults.Alpha, Trials), $"{alarms} false alarms in {Trials}");
        Assert.Matches(@"^\d+ of 30 history runs were better, z = [+-]\d", last!.Metrics[0].HistoryPosition);
    }

    [Fact]
    public void A_planted_15_percent_regression_is_found_as_often_as_the_runs_allow()
    {
        int five = Found(5), planned = 0;
        // The plan reads the spread off 400 runs, so that it is the model's, not one small sample's.
        RegressionGate.RunPlan plan = RegressionGate.PlanRuns(SyntheticResults.Runs(new Random(1), 400, 7.3), null, null, 15, Defaults with { Metrics = ["latency_p50"], Power = 0.9 }).Single();
        int n = plan.RunsPerSide!.Value;
        planned = Found(n);
        output.WriteLine($"planted 15% (run CV 8%, threshold 10%): found in {five}/{Trials} trials with 5 runs per side; --plan-runs ({plan.Noise.Describe()}) asks {n} per side for 90% power: found in {planned}/{Trials}");
        Assert.True(planned >= 0.9 * Trials - 2.33 * Math.Sqrt(Trials * 0.09), $"{planned} of {Trials} with {n} runs per side");
        Assert.True(five >= 0.6 * Trials, $"{five} of {Trials} with 5 runs per side");

        int Found(int runs)
        {
            int found = 0;
            for (int t = 0; t < Trials; t++)
            {
                var rng = new Random(50_000 + t);
                GateReport r = RegressionGate.Compare(SyntheticResults.Runs(rng, runs, 7.3), SyntheticResults.Runs(rng, runs, 7.3 * 1.15), Defaults with { Metrics = ["latency_p50"] });
                found += r.Verdict == GateVerdict.Regression ? 1 : 0;
            }

            return found;
        }
    }
}
