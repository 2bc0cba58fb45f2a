using System.Text.Json.Nodes;
using System.Xml.Linq;
using Harness.Results;
using Harness.Telemetry;
using Harness.Testing;
using Xunit.Abstractions;

namespace Harness.Cli.Tests.Commands;

/// <summary>The trust rules through the commands: comparable or not (issue 13), disturbed (issue 18), the run as the unit and history (issue 19).</summary>
public sealed class TrustCommandsTests(ITestOutputHelper log) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("harness-trust-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void The_committed_resnet18_runs_on_an_avx512_and_an_avx2_epyc_are_refused_then_compared_saying_so_in_every_view()
    {
        (string avx512, string avx2) = ResNet18OnTwoEpycs();
        string feature = "cpu features: avx2, fma, avx512f, avx512_bf16, avx512_vnni -> avx2, fma (only in base: avx512f, avx512_bf16, avx512_vnni)";

        var (refused, refusedOut, refusedErr) = CliRunner.Run("compare", avx512, avx2);

        Assert.Equal(2, refused);
        Assert.Equal("", refusedOut);
        Assert.StartsWith("harness: The runs cannot be compared like for like: they differ in what moves speed: " + feature, refusedErr, StringComparison.Ordinal);
        Assert.Contains("compare them anyway with --allow-hardware-change", refusedErr, StringComparison.Ordinal);

        string md = Path.Combine(_dir, "gate.md"), junit = Path.Combine(_dir, "gate.xml"), html = Path.Combine(_dir, "report.html");
        string gate = Path.Combine(_dir, "gate.html");
        var (code, text, _) = CliRunner.Run("compare", avx512, avx2, "--allow-hardware-change", "--markdown", md, "--junit", junit, "--html", gate);
        var (reportCode, _, _) = CliRunner.Run("report", avx512, avx2, "--html", html);
        log.WriteLine(text);

        Assert.Equal(3, code); // one run a side: run-to-run variance not measured
        Assert.StartsWith("! NOT LIKE FOR LIKE (allowed by --allow-hardware-change): the runs differ in what moves speed", text.Split('\n')[1], StringComparison.Ordinal);
        Assert.Contains(feature, text.Split('\n')[1], StringComparison.Ordinal);
        Assert.StartsWith("> :warning: NOT LIKE FOR LIKE (allowed by --allow-hardware-change)", File.ReadAllLines(md)[2], StringComparison.Ordinal);
        Assert.Contains(feature, File.ReadAllLines(md)[2], StringComparison.Ordinal);
        XElement warning = XDocument.Load(junit).Descendants("property").First(p => p.Attribute("name")!.Value.StartsWith("warning_", StringComparison.Ordinal));
        Assert.StartsWith("NOT LIKE FOR LIKE", warning.Attribute("value")!.Value, StringComparison.Ordinal);
        Assert.Equal(0, reportCode);
        string page = File.ReadAllText(html);
        Assert.True(page.IndexOf("NOT LIKE FOR LIKE", StringComparison.Ordinal) < page.IndexOf("<h3>Runs</h3>", StringComparison.Ordinal), "the warning leads the page");
        Assert.Contains("cpu features: avx2, fma, avx512f", page, StringComparison.Ordinal);
        string gatePage = File.ReadAllText(gate);
        Assert.True(gatePage.IndexOf("NOT LIKE FOR LIKE", StringComparison.Ordinal) < gatePage.IndexOf("data-chart=", StringComparison.Ordinal), "the warning leads the compare page");
        Assert.Contains("<td>cpu features</td>", gatePage, StringComparison.Ordinal);
    }

    [Fact]
    public void The_shared_machine_pair_of_issue_18_exits_3_naming_the_cause()
    {
        // Two minilm runs back to back, the second beside a process that took about one of the two cores.
        string b = Minilm("quiet.json", 20.2, busy: 0.99, own: 1.98);
        string c = Minilm("shared.json", 22.8, busy: 1.0, own: 0.98);

        var (code, output, _) = CliRunner.Run("compare", b, c, "--noise-model", History());

        Assert.Equal(3, code);
        Assert.Contains($"! current run {c} was DISTURBED, so the comparison is inconclusive: other processes used 1.02 cores (51% of the machine) during the window", output, StringComparison.Ordinal);
    }

    [Fact]
    public void A_history_baseline_places_the_current_run_and_history_prints_the_series()
    {
        string history = History();
        string current = Path.Combine(_dir, "current.json");
        SyntheticResults.Write(_dir, "current.json", SyntheticResults.Runs(new Random(9), 1, 7.3)[0]);

        var (code, output, _) = CliRunner.Run("compare", history, current, "--history", "--window", "12", "--metrics", "latency_p50");
        var (historyCode, series, _) = CliRunner.Run("history", history, "--metric", "p50");
        log.WriteLine(output);
        log.WriteLine(series);

        Assert.True(code is 0 or 3, output);
        Assert.Contains("t-test on log run values, run-to-run CV", output, StringComparison.Ordinal);
        Assert.Matches(@"current: \d+ of 12 history runs were better", output);
        Assert.Contains("note: history: the newest 12 of 16 comparable runs are used (--window)", output, StringComparison.Ordinal);
        Assert.Equal(0, historyCode);
        Assert.StartsWith("harness history: minilm, latency_p50 over 16 run(s), oldest first", series, StringComparison.Ordinal);
        Assert.Contains("Change point between", series, StringComparison.Ordinal);
    }

    [Fact]
    public void Plan_runs_says_how_many_runs_per_side_detect_a_change()
    {
        var (code, output, _) = CliRunner.Run("compare", History(), "--history", "--plan-runs", "5%", "--metrics", "latency_p50", "--threshold", "3%");
        log.WriteLine(output);

        Assert.Equal(0, code);
        Assert.Matches(@"- latency_p50: \d+ runs per side; run-to-run CV \d+\.\d% from 16 runs given", output);
    }

    /// <summary>
    /// The committed ResNet-18 results, found by their hardware sections: one measured on an EPYC with
    /// AVX-512 and one on an EPYC with AVX2 only. Only the AVX-512 one is committed so far (the AVX2 run
    /// the issue describes was measured on another day's machine); until it is, its stand-in is that
    /// file with the AVX2 machine's CPU features, in a temporary folder: the rule only reads the fingerprint.
    /// </summary>
    private (string Avx512, string Avx2) ResNet18OnTwoEpycs()
    {
        var resnets = ResultReader.FindUnder(Repository.ResultFixtures)
            .Select(p => ResultReader.TryRead(p, out LoadedResult? r, out _) ? r : null)
            .OfType<LoadedResult>()
            .Where(r => r.Document.Workload == "resnet18" && r.Document.Hardware?.Cpu.Model.Contains("EPYC", StringComparison.Ordinal) == true)
            .ToList();
        LoadedResult avx512 = resnets.First(r => r.Document.Hardware!.Cpu.Features.Contains("avx512f"));
        LoadedResult? avx2 = resnets.FirstOrDefault(r => !r.Document.Hardware!.Cpu.Features.Contains("avx512f"));
        if (avx2 is not null)
        {
            return (avx512.Path, avx2.Path);
        }

        var raw = (JsonObject)avx512.Raw.DeepClone();
        raw["hardware"]!["cpu"]!["features"] = new JsonArray("avx2", "fma");
        string stand = Path.Combine(_dir, "resnet18_avx2-epyc.json");
        File.WriteAllText(stand, raw.ToJsonString());
        return (avx512.Path, stand);
    }

    private string Minilm(string name, double p50, double busy, double own)
    {
        ResultDocument doc = SyntheticResults.Make(SyntheticResults.LogNormal(new Random(name.Length), 600, p50, 0.1), workload: "minilm");
        doc.Telemetry = new TelemetryReport { Enabled = true, Cpu = new CpuTelemetry { LogicalCores = 2, UtilizationAvg = busy, ProcessCpuCores = own } };
        return SyntheticResults.Write(_dir, name, doc);
    }

    /// <summary>Sixteen past runs in job folders: ten at 7.3 ms, then six at 8.1 ms.</summary>
    private string History()
    {
        string root = Path.Combine(_dir, "history");
        if (Directory.Exists(root))
        {
            return root;
        }

        var rng = new Random(4);
        List<ResultDocument> runs = [.. SyntheticResults.Runs(rng, 10, 7.3, runCv: 0.02), .. SyntheticResults.Runs(rng, 6, 8.1, runCv: 0.02)];
        for (int i = 0; i < runs.Count; i++)
        {
            runs[i].StartedUtc = new DateTime(2026, 11, 1, 0, 0, 0, DateTimeKind.Utc).AddHours(i);
            SyntheticResults.Write(Directory.CreateDirectory(Path.Combine(root, $"job-{i:00}")).FullName, "run.json", runs[i]);
        }

        return root;
    }
}
