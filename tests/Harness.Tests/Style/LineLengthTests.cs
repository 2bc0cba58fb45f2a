using Harness.Testing;

namespace Harness.Tests.Style;

/// <summary>
/// New code keeps lines within 140 characters (.editorconfig's max_line_length, which the compiler
/// does not check). Lines written before the rule are allowed per file, in
/// tests/line-length-baseline.txt, and that allowance can only fall.
/// </summary>
public sealed class LineLengthTests
{
    private const int MaxLength = 140;

    [Fact]
    public void No_source_file_has_more_long_lines_than_its_allowance()
    {
        string root = Repository.Root;
        Dictionary<string, int> allowed = File.ReadAllLines(Path.Combine(root, "tests", "line-length-baseline.txt"))
            .Where(l => l.Length > 0)
            .Select(l => l.Split(' '))
            .ToDictionary(p => p[0], p => int.Parse(p[1], System.Globalization.CultureInfo.InvariantCulture));

        var over = new List<string>();
        foreach (string folder in new[] { "src", "tests", "bench" })
        {
            foreach (string file in Directory.EnumerateFiles(Path.Combine(root, folder), "*.cs", SearchOption.AllDirectories))
            {
                string relative = Path.GetRelativePath(root, file).Replace('\\', '/');
                bool built = relative.Contains("/obj/", StringComparison.Ordinal) || relative.Contains("/bin/", StringComparison.Ordinal);
                if (built)
                {
                    continue;
                }

                int longLines = File.ReadLines(file).Count(l => l.Length > MaxLength);
                int allowance = allowed.GetValueOrDefault(relative);
                if (longLines > allowance)
                {
                    over.Add($"{relative}: {longLines} lines over {MaxLength} characters, {allowance} allowed");
                }
            }
        }

        Assert.True(
            over.Count == 0,
            "Wrap the new long lines (scripts/line-length-baseline.sh records shorter files):\n" + string.Join("\n", over));
    }

    [Fact]
    public void The_allowance_lists_only_files_that_exist()
    {
        string root = Repository.Root;
        string[] missing = File.ReadAllLines(Path.Combine(root, "tests", "line-length-baseline.txt"))
            .Where(l => l.Length > 0)
            .Select(l => l.Split(' ')[0])
            .Where(f => !File.Exists(Path.Combine(root, f)))
            .ToArray();
        Assert.True(
            missing.Length == 0,
            "Stale entries in tests/line-length-baseline.txt (run scripts/line-length-baseline.sh): " + string.Join(", ", missing));
    }
}
