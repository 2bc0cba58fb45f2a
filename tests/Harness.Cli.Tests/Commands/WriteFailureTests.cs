using Harness.Results;
using Harness.Testing;

namespace Harness.Cli.Tests.Commands;

/// <summary>
/// <c>harness run</c> when the result cannot be written: a disk that fills during the run (a real
/// tmpfs) keeps the measurement in a temporary folder, says where and why, and exits 1; a folder
/// that cannot be written is refused before anything is measured (exit 2). A view (a report) that
/// cannot be written says the cause and the path, not an exception type.
/// </summary>
public class WriteFailureTests
{
    private static string[] QuickRun(string output) =>
        ["run", "resnet18", "--scenario", "offline", "-d", "0.3s", "--min-requests", "1", "--warmup", "0s", "--threads", "1", SharedMachine.AllowNoisy, "-o", output];

    [TmpfsFact]
    public void A_full_disk_saves_the_result_elsewhere_says_where_and_why_and_exits_1()
    {
        using var disk = new Tmpfs(kib: 64);
        string path = Path.Combine(disk.Path, "resnet18.json");
        disk.Fill();

        (int code, string output, string err) = CliRunner.Run(QuickRun(path));

        string line = Assert.Single(CliRunner.Messages(err), l => l.Contains("could not write", StringComparison.Ordinal));
        string saved = line[(line.IndexOf("saved to ", StringComparison.Ordinal) + "saved to ".Length)..^" instead.".Length];
        try
        {
            Assert.Equal(1, code);
            Assert.Equal($"harness: could not write the result to {path}: no space left on device; it was saved to {saved} instead.", line);
            Assert.DoesNotContain("Exception", err, StringComparison.Ordinal);
            Assert.False(File.Exists(path));
            ResultDocument doc = ResultReader.ReadDocument(saved);
            Assert.Equal("resnet18", doc.Workload);
            Assert.True(doc.Metrics.RequestsOk >= 1);
            Assert.Contains(saved, output, StringComparison.Ordinal); // the summary names the file that exists
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(saved)!, recursive: true);
        }
    }

    [UnwritableFolderFact]
    public void An_unwritable_folder_is_refused_before_measuring()
    {
        using var folder = new UnwritableFolder();
        string path = Path.Combine(folder.Path, "resnet18.json");

        (int code, string output, string err) = CliRunner.Run(QuickRun(path));

        Assert.Equal(2, code);
        Assert.Equal($"harness: Cannot write the result to '{path}': {folder.Cause}.", Assert.Single(CliRunner.Messages(err)));
        Assert.Empty(output);
    }

    [UnwritableFolderFact]
    public void A_view_that_cannot_be_written_names_the_cause_and_the_path_not_an_exception_type()
    {
        using var folder = new UnwritableFolder();
        string html = Path.Combine(folder.Path, "report.html");

        (int code, _, string err) = CliRunner.Run("report", CliRunner.H200Run(), "--html", html);

        Assert.Equal(1, code);
        string message = Assert.Single(CliRunner.Messages(err));
        Assert.StartsWith($"harness: {folder.Cause}: {folder.Path}", message, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", err, StringComparison.Ordinal);
    }
}
