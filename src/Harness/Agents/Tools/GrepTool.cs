using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Harness.Agents.Jobs;

namespace Harness.Agents.Tools;

/// <summary>
/// <c>grep</c>: a regular expression over a slice of the generated corpus, line by line, returning
/// the count and the first matching lines with their numbers (as <c>grep -n</c> would).
/// </summary>
public sealed class GrepTool : AgentTool
{
    private static readonly Dictionary<string, string> Patterns = new(StringComparer.Ordinal)
    {
        ["errors"] = @"\b(ERROR|WARN)\b.*\bstatus=(timeout|refused|reset)\b",
        ["emails"] = @"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b",
        ["functions"] = @"^\s*def\s+(func_\w+)\(self, (\w+)\):",
        ["timestamps"] = @"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z\b",
        ["todo"] = @"#\s*TODO\((\w+)\)",
        ["slow"] = @"latency_ms=(4\d{3}|[5-9]\d{3})\b",
    };

    private readonly Dictionary<string, Regex> _regexes = new(StringComparer.Ordinal);

    public override string Name => "grep";

    public override string Description => "Regular expression over a slice of a generated text corpus (logs, code, prose), grep -n style output.";

    public override IReadOnlyDictionary<string, string> Parameters { get; } = new Dictionary<string, string>
    {
        ["corpus_kb"] = "KiB of text searched (default 256, at most 1 GiB: beyond the 8 MiB corpus it wraps around, as a search over a larger repository)",
        ["max_matches"] = "matching lines returned at most (default 50)",
    };

    public override IReadOnlyList<string> Variants { get; } = Patterns.Keys.ToList();

    public override ToolOutput Invoke(ToolCallPlan call, ToolContext context)
    {
        long chars = Arg(call, "corpus_kb", 256, 1, 1024 * 1024) * 1024L;
        int maxMatches = Arg(call, "max_matches", 50, 0, 10_000);
        Regex regex = _regexes[call.Variant ?? "errors"];
        SyntheticCorpus corpus = Environment.Corpus;
        (int start, _) = corpus.Place(call.Seed, (int)Math.Min(chars, corpus.Length));
        var output = new StringBuilder();
        int matches = 0, lines = 0;
        while (chars > 0)
        {
            int length = (int)Math.Min(chars, corpus.Length - start);
            chars -= length;
            ReadOnlySpan<char> text = corpus.Text.AsSpan(start, length);
            start = 0;
            while (!text.IsEmpty)
            {
                int nl = text.IndexOf('\n');
                ReadOnlySpan<char> line = nl < 0 ? text : text[..nl];
                text = nl < 0 ? [] : text[(nl + 1)..];
                lines++;
                if ((lines & 1023) == 0)
                {
                    context.CancellationToken.ThrowIfCancellationRequested();
                }

                if (regex.IsMatch(line) && matches++ < maxMatches)
                {
                    output.Append(lines.ToString(CultureInfo.InvariantCulture)).Append(':').Append(line).Append('\n');
                }
            }
        }

        output.Insert(0, string.Create(CultureInfo.InvariantCulture, $"{matches} matching lines of {lines} ({call.Variant ?? "errors"})\n"));
        return new ToolOutput(output.ToString());
    }

    protected override void OnPrepare(ToolEnvironment environment)
    {
        foreach ((string name, string pattern) in Patterns)
        {
            // Compiled once and shared: Regex is thread-safe. The match timeout turns a pathological
            // backtrack into a failed call instead of a hung worker.
            _regexes[name] = new Regex(pattern, RegexOptions.Compiled | RegexOptions.CultureInvariant, TimeSpan.FromSeconds(2));
        }
    }
}
