using Harness.Results;
using Harness.Testing;

namespace Harness.Tests.Results;

public class ResultFilesTests
{
    [Fact]
    public void A_folder_gives_its_result_files_without_the_sweep_index_or_temporary_files()
    {
        using var dir = new SyntheticResults.TempFolder();
        SyntheticResults.Write(dir.Path, "run-02.json", SyntheticResults.Make([1]));
        SyntheticResults.Write(dir.Path, "run-01.json", SyntheticResults.Make([1]));
        File.WriteAllText(Path.Combine(dir.Path, ResultFiles.SweepIndexFileName), "{}");
        File.WriteAllText(Path.Combine(dir.Path, ".run-03.json.123.tmp"), "{");
        File.WriteAllText(Path.Combine(dir.Path, "notes.txt"), "x");
        Directory.CreateDirectory(Path.Combine(dir.Path, "sub"));
        SyntheticResults.Write(Path.Combine(dir.Path, "sub"), "deeper.json", SyntheticResults.Make([1]));

        var files = ResultFiles.Expand(dir.Path).Select(Path.GetFileName);

        Assert.Equal(["run-01.json", "run-02.json"], files);
    }

    [Fact]
    public void A_glob_in_the_file_name_matches_files()
    {
        using var dir = new SyntheticResults.TempFolder();
        SyntheticResults.Write(dir.Path, "base-1.json", SyntheticResults.Make([1]));
        SyntheticResults.Write(dir.Path, "base-2.json", SyntheticResults.Make([1]));
        SyntheticResults.Write(dir.Path, "head-1.json", SyntheticResults.Make([1]));

        Assert.Equal(2, ResultFiles.Expand(Path.Combine(dir.Path, "base-*.json")).Count);
        Assert.Single(ResultFiles.Expand(Path.Combine(dir.Path, "head-?.json")));
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

        var e = Assert.Throws<HarnessException>(() => ResultFiles.Expand(path, "base"));

        Assert.Equal(ExitCodes.BadInput, e.ExitCode);
        Assert.Contains(mentions, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_empty_folder_is_bad_input()
    {
        using var dir = new SyntheticResults.TempFolder();

        var e = Assert.Throws<HarnessException>(() => ResultFiles.Expand(dir.Path, "current"));

        Assert.Equal($"The current folder '{dir.Path}' holds no result files (*.json).", e.Message);
    }

    [Fact]
    public void Loading_keeps_sections_this_build_does_not_model()
    {
        using var dir = new SyntheticResults.TempFolder();
        string path = SyntheticResults.Write(dir.Path, "r.json", SyntheticResults.Make([1, 2]));
        File.WriteAllText(path, File.ReadAllText(path).TrimEnd().TrimEnd('}') + ", \"vendor_section\": { \"note\": \"x\" } }");

        LoadedResult r = ResultFiles.LoadFile(path);

        Assert.Equal("x", (string?)r.Raw["vendor_section"]!["note"]);
        Assert.Equal(2, r.Document.Metrics.RequestsOk);
        Assert.Equal(1, ResultFiles.PeekSchemaVersion(path));
    }
}
