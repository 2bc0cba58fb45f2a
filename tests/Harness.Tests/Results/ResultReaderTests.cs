using Harness.Results;
using Harness.Testing;

namespace Harness.Tests.Results;

public class ResultReaderTests
{
    [Fact]
    public void A_folder_gives_its_result_files_without_the_sweep_index_or_temporary_files()
    {
        using var dir = new SyntheticResults.TempFolder();
        SyntheticResults.Write(dir.Path, "run-02.json", SyntheticResults.Make([1]));
        SyntheticResults.Write(dir.Path, "run-01.json", SyntheticResults.Make([1]));
        File.WriteAllText(Path.Combine(dir.Path, ResultReader.SweepIndexFileName), "{}");
        File.WriteAllText(Path.Combine(dir.Path, ".run-03.json.123.tmp"), "{");
        File.WriteAllText(Path.Combine(dir.Path, "notes.txt"), "x");
        Directory.CreateDirectory(Path.Combine(dir.Path, "sub"));
        SyntheticResults.Write(Path.Combine(dir.Path, "sub"), "deeper.json", SyntheticResults.Make([1]));

        var files = ResultReader.Find(dir.Path).Select(Path.GetFileName);

        Assert.Equal(["run-01.json", "run-02.json"], files);
    }

    [Fact]
    public void A_glob_in_the_file_name_matches_files()
    {
        using var dir = new SyntheticResults.TempFolder();
        SyntheticResults.Write(dir.Path, "base-1.json", SyntheticResults.Make([1]));
        SyntheticResults.Write(dir.Path, "base-2.json", SyntheticResults.Make([1]));
        SyntheticResults.Write(dir.Path, "head-1.json", SyntheticResults.Make([1]));

        Assert.Equal(2, ResultReader.Find(Path.Combine(dir.Path, "base-*.json")).Count);
        Assert.Single(ResultReader.Find(Path.Combine(dir.Path, "head-?.json")));
    }

    [Theory]
    [InlineData("missing.json", "is neither a file nor a folder")]
    [InlineData("nothing-*.json", "matches no result file")]
    [InlineData("*/x.json", "wildcard in a folder name")]
    [InlineData("", "path is empty")]
    public void What_cannot_be_found_is_bad_input(string spec, string mentions)
    {
        using var dir = new SyntheticResults.TempFolder();
        string path = spec.Length == 0 ? "" : Path.Combine(dir.Path, spec);

        var e = Assert.Throws<HarnessException>(() => ResultReader.Find(path, "base"));

        Assert.Equal(ExitCodes.BadInput, e.ExitCode);
        Assert.Contains(mentions, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_empty_folder_is_bad_input()
    {
        using var dir = new SyntheticResults.TempFolder();

        var e = Assert.Throws<HarnessException>(() => ResultReader.Find(dir.Path, "current"));

        Assert.Equal($"The current folder '{dir.Path}' holds no result files (*.json).", e.Message);
    }

    [Fact]
    public void Loading_keeps_sections_this_build_does_not_model()
    {
        using var dir = new SyntheticResults.TempFolder();
        string path = SyntheticResults.Write(dir.Path, "r.json", SyntheticResults.Make([1, 2]));
        File.WriteAllText(path, File.ReadAllText(path).TrimEnd().TrimEnd('}') + ", \"vendor_section\": { \"note\": \"x\" } }");

        LoadedResult r = ResultReader.Read(path);

        Assert.Equal("x", (string?)r.Raw["vendor_section"]!["note"]);
        Assert.Equal(2, r.Document.Metrics.RequestsOk);
    }

    [Fact]
    public void A_truncated_file_is_reported_as_not_valid_json_with_where_it_breaks()
    {
        using var dir = new SyntheticResults.TempFolder();
        string path = SyntheticResults.Write(dir.Path, "r.json", SyntheticResults.Make([1, 2]));
        string text = File.ReadAllText(path);
        File.WriteAllText(path, text[..(text.Length / 2)]);

        var e = Assert.Throws<HarnessException>(() => ResultReader.Read(path));

        Assert.Equal(ExitCodes.BadInput, e.ExitCode);
        Assert.Matches(@"^Result file '.*r\.json' is not valid JSON at line \d+, byte \d+ \(truncated or corrupt\)\.$", e.Message);
    }

    [Theory]
    [InlineData("""{ "schema_version": 2, "harness_version": "9.0.0", "workload": "x" }""", "has schema version 2, newer than this harness reads (up to 1); read it with the harness that wrote it (9.0.0) or a newer one")]
    [InlineData("""{ "schema_version": 0, "workload": "x" }""", "has schema version 0, which no harness wrote (this one reads 1)")]
    [InlineData("""{ "workload": "x" }""", "is not a harness result: it has no schema_version")]
    [InlineData("""[1, 2]""", "is not a harness result: its JSON is not an object")]
    [InlineData("""{ "schema_version": 1, "kind": "agents_sweep", "points": [] }""", "is an agents sweep document, not a run result")]
    [InlineData("""{ "schema_version": 1, "points": [] }""", "is not a run result: it has no workload")]
    [InlineData("", "is empty")]
    public void A_file_that_is_not_a_readable_result_is_refused_by_what_it_is(string json, string reason)
    {
        using var dir = new SyntheticResults.TempFolder();
        string path = Path.Combine(dir.Path, "x.json");
        File.WriteAllText(path, json);

        Assert.False(ResultReader.TryRead(path, out _, out string? problem));
        Assert.Equal(reason, problem);
        var e = Assert.Throws<HarnessException>(() => ResultReader.Read(path));
        Assert.Equal($"Result file '{path}' {reason}.", e.Message);
    }

    [Fact]
    public void Every_result_file_under_results_is_read_and_the_other_json_files_are_named_for_what_they_are()
    {
        var runs = new List<LoadedResult>();
        foreach (string file in ResultReader.FindUnder(Path.Combine(Repository.Root, "results")))
        {
            if (ResultReader.TryRead(file, out LoadedResult? run, out string? problem))
            {
                runs.Add(run!);
            }
            else
            {
                // The raw per-step dumps of the decode proxy and the agents sweeps are not run results.
                Assert.True(problem is "is not a harness result: it has no schema_version" or "is an agents sweep document, not a run result", $"{file} {problem}");
            }
        }

        Assert.True(runs.Count >= 70, $"{runs.Count} run results under results/");
        Assert.All(runs, r => Assert.NotEmpty(r.Document.Workload));
    }

    [Fact]
    public void A_version_1_file_written_before_the_metric_catalog_is_read_in_todays_shape()
    {
        using var dir = new SyntheticResults.TempFolder();
        string path = SyntheticResults.Write(dir.Path, "old.json", SyntheticResults.Make([1, 2]));
        var raw = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        raw["metrics"]!.AsObject()["price"] = new System.Text.Json.Nodes.JsonObject { ["instance"] = "x" };
        raw["metrics"]!.AsObject()["cost_per_job_usd"] = 0.25;
        File.WriteAllText(path, raw.ToJsonString());

        ResultDocument doc = ResultReader.ReadDocument(path);

        Assert.Equal(0.25, doc.Metrics.Value(Harness.Metrics.MetricCatalog.UsdPerJob));
        Assert.True(doc.Config.ContainsKey("price"));
        Assert.False(doc.Metrics.Extra!.ContainsKey("price"));
    }
}
