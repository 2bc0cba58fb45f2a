using System.Text.Json;
using System.Text.RegularExpressions;
using Harness.Testing;

namespace Harness.Cli.Tests;

/// <summary>
/// The Containerfile, linted (no container runtime needed): what the fleet relies on, and that every stage
/// it names exists and every file it copies is in the build context. docs/fleet.md says how it was built and
/// run on a real engine.
/// </summary>
public sealed partial class ContainerfileTests
{
    private static readonly string[] Lines = JoinContinuations(File.ReadAllLines(Path.Combine(Repository.Root, "Containerfile")));

    private static string[] JoinContinuations(string[] raw)
    {
        var lines = new List<string>();
        string pending = "";
        foreach (string l in raw.Where(l => !l.TrimStart().StartsWith('#')))
        {
            if (l.EndsWith('\\'))
            {
                pending += l[..^1] + " ";
                continue;
            }

            lines.Add((pending + l).Trim());
            pending = "";
        }

        return [.. lines.Where(l => l.Length > 0)];
    }

    private static IEnumerable<string> Instructions(string keyword) =>
        Lines.Where(l => l.StartsWith(keyword + " ", StringComparison.Ordinal)).Select(l => l[(keyword.Length + 1)..].Trim());

    [Fact]
    public void The_runtime_stage_is_non_root_with_results_as_a_volume_and_an_exec_form_entrypoint()
    {
        int lastFrom = Array.FindLastIndex(Lines, l => l.StartsWith("FROM ", StringComparison.Ordinal));
        string[] runtime = Lines[lastFrom..];

        Assert.Equal("FROM ${BASE}", runtime[0]);
        string user = Assert.Single(runtime, l => l.StartsWith("USER ", StringComparison.Ordinal))[5..];
        Assert.DoesNotContain(user.Split(':')[0], new[] { "0", "root" });
        Assert.Contains("VOLUME [\"/results\"]", runtime);
        string entrypoint = Assert.Single(runtime, l => l.StartsWith("ENTRYPOINT ", StringComparison.Ordinal))[11..];
        Assert.Equal(["harness"], JsonSerializer.Deserialize<string[]>(entrypoint)!);
        Assert.Contains(runtime, l => l.Contains("/usr/local/bin/harness", StringComparison.Ordinal));
    }

    [Fact]
    public void The_base_images_are_build_arguments_and_every_stage_named_exists()
    {
        string[] globalArgs = Lines.TakeWhile(l => !l.StartsWith("FROM ", StringComparison.Ordinal))
            .Where(l => l.StartsWith("ARG ", StringComparison.Ordinal)).Select(l => l[4..].Split('=')[0]).ToArray();
        Assert.Contains("BASE", globalArgs);
        Assert.Contains("SDK", globalArgs);

        var stages = new List<string>();
        foreach (string from in Instructions("FROM"))
        {
            Match m = FromLine().Match(from);
            Assert.True(m.Success, from);
            string image = m.Groups["image"].Value;
            // A stage may start from an earlier stage ("app-${SOURCE}": each value of SOURCE must be one).
            if (image.StartsWith("app-", StringComparison.Ordinal))
            {
                Assert.Contains("app-sdk", stages);
                Assert.Contains("app-prebuilt", stages);
            }
            else
            {
                bool argument = image.StartsWith("${", StringComparison.Ordinal) && globalArgs.Contains(image[2..^1]);
                Assert.True(image == "scratch" || argument, from);
            }

            if (m.Groups["name"].Success)
            {
                stages.Add(m.Groups["name"].Value);
            }
        }

        foreach (string copy in Instructions("COPY").Where(c => c.StartsWith("--from=", StringComparison.Ordinal)))
        {
            Assert.Contains(copy.Split(' ')[0]["--from=".Length..], stages);
        }
    }

    [Fact]
    public void Every_file_the_build_stage_copies_is_in_the_context()
    {
        string[] ignored = File.ReadAllLines(Path.Combine(Repository.Root, ".containerignore"));
        IEnumerable<string> fromContext = Instructions("COPY")
            .Where(c => !c.StartsWith("--from=", StringComparison.Ordinal) && !c.Contains('$', StringComparison.Ordinal));
        foreach (string copy in fromContext)
        {
            string[] parts = copy.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            foreach (string source in parts[..^1])
            {
                string path = Path.Combine(Repository.Root, source);
                Assert.True(File.Exists(path) || Directory.Exists(path), source);
                Assert.DoesNotContain(source, ignored);
            }
        }

        // Build outputs never go into the context (they are large, and the build stage makes its own).
        Assert.Contains("**/bin", ignored);
        Assert.Contains("**/obj", ignored);
    }

    [GeneratedRegex(@"^(?<image>\S+)(\s+AS\s+(?<name>\S+))?$")]
    private static partial Regex FromLine();
}
