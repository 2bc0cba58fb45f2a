using System.Text.Json;
using Harness.Hardware;
using Harness.Results;

namespace Harness.Cli.Tests;

/// <summary>The committed result files sit in the folder their own hardware names (what a run on that machine would write to).</summary>
public class CommittedResultsTests
{
    [Fact]
    public void Every_committed_result_is_in_the_folder_of_the_machine_it_ran_on()
    {
        string results = Path.Combine(CliRunner.RepoRoot, "results");
        var misplaced = new List<string>();
        int checkedFiles = 0;
        foreach (string file in Directory.GetFiles(results, "*.json", SearchOption.AllDirectories))
        {
            using JsonDocument json = JsonDocument.Parse(File.ReadAllText(file));
            if (!json.RootElement.TryGetProperty("hardware", out JsonElement section))
            {
                continue; // raw data of a script, beside the result files it became
            }

            HardwareFingerprint hw = section.Deserialize<HardwareFingerprint>(ResultJson.Options)!;
            string folder = Path.GetRelativePath(results, file).Split(Path.DirectorySeparatorChar)[0];
            checkedFiles++;
            if (folder != HardwareProbe.MachineLabel(hw))
            {
                misplaced.Add($"{Path.GetRelativePath(results, file)}: its hardware names {HardwareProbe.MachineLabel(hw)}");
            }
        }

        Assert.True(checkedFiles > 50, $"{checkedFiles} result files found under {results}");
        Assert.True(misplaced.Count == 0, string.Join("\n", misplaced));
    }
}
