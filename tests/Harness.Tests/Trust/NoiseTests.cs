using Harness.Gate;
using Harness.Results;
using Harness.Testing;
using Harness.Trust.Noise;

namespace Harness.Tests.Trust;

/// <summary>Issue 19: the noise model, power and budget, the history baseline and change points.</summary>
public class NoiseTests
{
    [Fact]
    public void The_pooled_spread_measures_each_group_around_its_own_mean()
    {
        NoiseModel m = NoiseModel.Pooled([[0.0, 0.2], [1.0, 1.2, 1.4]], "test")!;

        // Squares: 0.02 + 0.08 = 0.1 over 1 + 2 degrees of freedom.
        Assert.Equal(Math.Sqrt(0.1 / 3), m.Sigma, 12);
        Assert.Equal(3, m.Df);
        Assert.Null(NoiseModel.Pooled([[1.0], [2.0]], "one run a side"));
    }

    [Fact]
    public void The_smallest_detectable_change_and_the_runs_needed_agree_with_each_other()
    {
        NoiseModel cv8 = NoiseModel.AssumedCv(0.08);

        int n = RunPlanning.RunsPerSide(cv8, 15, 0.05, 10, 0.8)!.Value;
        double atN = RunPlanning.SmallestDetectablePct(cv8 with { Df = 2 * n - 2 }, n, n, 0.05, 10, 0.8);
        double below = RunPlanning.SmallestDetectablePct(cv8 with { Df = 2 * n - 4 }, n - 1, n - 1, 0.05, 10, 0.8);

        Assert.True(atN <= 15 && below > 15, $"n {n}: {atN:0.##}% detectable, with one run fewer {below:0.##}%");
        Assert.Null(RunPlanning.RunsPerSide(cv8, 5, 0.05, 10)); // within the threshold: never a regression
        int? ranks = RunPlanning.RunsPerSide(cv8, 15, 0.05, 10, ranks: true);
        Assert.True(ranks >= n && RunPlanning.RunsPerSide(cv8, 15, 0.05, 10, 0.9, ranks: true) > RunPlanning.RunsPerSide(cv8, 15, 0.05, 10, 0.9), $"rank test {ranks}, t-test {n}");
    }

    [Fact]
    public void A_history_is_read_newest_first_leaving_out_runs_of_other_machines_and_workloads()
    {
        using var dir = new SyntheticResults.TempFolder();
        var rng = new Random(3);
        List<ResultDocument> runs = SyntheticResults.Runs(rng, 6, 7.3);
        for (int i = 0; i < runs.Count; i++)
        {
            runs[i].Hardware = ComparabilityRuleTests.Doc(ComparabilityRuleTests.Epyc(avx512: i != 2)).Hardware;
            SyntheticResults.Write(Directory.CreateDirectory(Path.Combine(dir.Path, $"job-{i}")).FullName, "run.json", runs[i]);
        }

        ResultDocument other = SyntheticResults.Make([1, 2, 3], workload: "resnet18");
        SyntheticResults.Write(dir.Path, "resnet.json", other);
        File.WriteAllText(Path.Combine(dir.Path, "notes.json"), "{\"kind\": \"fleet_summary\", \"schema_version\": 1}");

        RunHistory.Window w = RunHistory.Read(dir.Path, 3, runs[5]);

        Assert.Equal([runs[5].StartedUtc, runs[4].StartedUtc, runs[3].StartedUtc], w.Runs.Select(r => r.Document.StartedUtc));
        Assert.Contains(w.Notes, n => n.StartsWith("1 run(s) left out as not like for like with the current run (cpu features:", StringComparison.Ordinal));
        Assert.Contains(w.Notes, n => n == "1 run(s) of other workloads were left out");
        Assert.Contains(w.Notes, n => n.StartsWith("1 file(s) under", StringComparison.Ordinal));
        Assert.Contains(w.Notes, n => n == "the newest 3 of 5 comparable runs are used (--window)");
    }

    [Fact]
    public void A_step_in_a_series_is_found_where_it_happened()
    {
        var rng = new Random(4);
        double[] series = Enumerable.Range(0, 30).Select(i => (i < 18 ? 7.3 : 8.1) * Math.Exp(0.02 * SyntheticResults.Gaussian(rng))).ToArray();

        ChangePointDetector.ChangePoint cp = Assert.Single(ChangePointDetector.Find(series));

        Assert.Equal(18, cp.Index);
        Assert.InRange(cp.MedianAfter / cp.MedianBefore, 1.08, 1.14);
        Assert.True(cp.PValue < 0.01);
    }

    [Fact]
    public void Noise_alone_rarely_shows_a_change_point()
    {
        int found = 0;
        for (int t = 0; t < 100; t++)
        {
            var rng = new Random(100 + t);
            double[] series = Enumerable.Range(0, 25).Select(_ => 7.3 * Math.Exp(0.08 * SyntheticResults.Gaussian(rng))).ToArray();
            found += ChangePointDetector.Find(series, permutations: 199, seed: t).Count > 0 ? 1 : 0;
        }

        Assert.True(found <= 5, $"{found} of 100 noise series had a change point at alpha 0.01");
    }

    [Fact]
    public void The_history_command_prints_the_series_and_its_change_point_with_date_and_run()
    {
        using var dir = new SyntheticResults.TempFolder();
        var rng = new Random(5);
        List<ResultDocument> before = SyntheticResults.Runs(rng, 10, 7.3, runCv: 0.02), after = SyntheticResults.Runs(rng, 8, 8.1, runCv: 0.02);
        for (int i = 0; i < after.Count; i++)
        {
            after[i].StartedUtc = before[^1].StartedUtc.AddHours(i + 1);
            after[i].HarnessVersion = "1.0.0+slow";
        }

        foreach ((ResultDocument d, int i) in before.Concat(after).Select((d, i) => (d, i)))
        {
            SyntheticResults.Write(dir.Path, $"run-{i:00}.json", d);
        }

        HistorySeries.Series s = HistorySeries.Read(dir.Path, "p50", 100);
        string text = HistorySeries.Render(s);

        Assert.Equal(18, s.Points.Count);
        Assert.Equal(10, Assert.Single(s.ChangePoints).Index);
        Assert.Contains($"Change point between {before[^1].StartedUtc:yyyy-MM-dd HH:mm}Z ({Path.Combine(dir.Path, "run-09.json")}, test) and {after[0].StartedUtc:yyyy-MM-dd HH:mm}Z ({Path.Combine(dir.Path, "run-10.json")}, 1.0.0+slow)", text, StringComparison.Ordinal);
    }
}
