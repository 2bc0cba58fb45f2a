using System.Text;

namespace Harness.Agents.Tools;

/// <summary>
/// A generated ASCII text of the kinds agents read: service logs, source code and prose, with
/// timestamps, identifiers, e-mail addresses and error lines for the regular expressions to find.
/// Fixed by its seed; generated once per run and shared read-only by every tool.
/// </summary>
public sealed class SyntheticCorpus
{
    public const int DefaultBytes = 8 * 1024 * 1024;

    private static readonly string[] Words =
    [
        "the", "request", "cache", "server", "latency", "token", "model", "agent", "queue", "worker", "batch", "memory",
        "index", "table", "query", "result", "file", "path", "value", "error", "retry", "connection", "schema", "record",
        "parser", "buffer", "thread", "lock", "timeout", "response", "client", "update", "delete", "insert", "select",
        "a", "of", "to", "and", "in", "is", "for", "on", "with", "that", "by", "from", "as", "at", "be", "this", "which",
        "configuration", "deployment", "throughput", "benchmark", "gradient", "embedding", "vector", "document", "stream",
    ];

    private static readonly string[] Levels = ["INFO", "INFO", "INFO", "DEBUG", "WARN", "ERROR"];
    private static readonly string[] Causes = ["timeout", "refused", "reset", "ok", "slow", "retrying", "closed"];
    private static readonly string[] Services = ["api", "auth", "billing", "search", "ingest", "scheduler", "storage"];
    private static readonly string[] Domains = ["example.com", "mail.test", "corp.example.org", "dev.invalid"];

    private readonly byte[] _bytes;

    public SyntheticCorpus(int seed, int bytes)
    {
        var rng = new Random(seed ^ 0x5EED);
        var sb = new StringBuilder(bytes + 256);
        int line = 0;
        while (sb.Length < bytes)
        {
            switch (rng.Next(10))
            {
                case < 5: LogLine(sb, rng, line); break;
                case < 8: CodeLine(sb, rng, line); break;
                default: ProseLine(sb, rng); break;
            }

            sb.Append('\n');
            line++;
        }

        Text = sb.ToString(0, bytes);
        _bytes = Encoding.ASCII.GetBytes(Text);
        LineCount = line;
    }

    public string Text { get; }

    public int Length => Text.Length;

    public int LineCount { get; }

    /// <summary>A slice of about <paramref name="length"/> characters starting at a line, placed by the seed.</summary>
    public (int Start, int Length) Place(int seed, int length)
    {
        length = Math.Clamp(length, 1, Length);
        int start = new Random(seed).Next(0, Length - length + 1);
        if (start > 0)
        {
            int nl = Text.IndexOf('\n', start - 1);
            start = nl < 0 || nl + 1 + length > Length ? Math.Max(0, Length - length) : nl + 1;
        }

        return (start, length);
    }

    public ReadOnlySpan<char> Chars(int seed, int length)
    {
        (int s, int n) = Place(seed, length);
        return Text.AsSpan(s, n);
    }

    public ReadOnlyMemory<byte> Bytes(int seed, int length)
    {
        (int s, int n) = Place(seed, length);
        return _bytes.AsMemory(s, n);
    }

    private static void LogLine(StringBuilder sb, Random rng, int line)
    {
        int sec = line % 86400;
        sb.Append("2026-03-").Append((1 + (line / 86400 % 28)).ToString("00"))
            .Append('T').Append((sec / 3600).ToString("00")).Append(':').Append((sec / 60 % 60).ToString("00")).Append(':').Append((sec % 60).ToString("00"))
            .Append('.').Append(rng.Next(1000).ToString("000")).Append("Z ");
        sb.Append(Levels[rng.Next(Levels.Length)].PadRight(5)).Append(' ');
        sb.Append(Services[rng.Next(Services.Length)]).Append('-').Append(rng.Next(32)).Append(" id=").Append(rng.Next(0x1000000).ToString("x6"));
        sb.Append(" latency_ms=").Append(rng.Next(1, 5000)).Append(" status=").Append(Causes[rng.Next(Causes.Length)]);
        if (rng.Next(8) == 0)
        {
            sb.Append(" user=").Append(Words[rng.Next(Words.Length)]).Append('.').Append(rng.Next(1000)).Append('@').Append(Domains[rng.Next(Domains.Length)]);
        }
    }

    private static void CodeLine(StringBuilder sb, Random rng, int line)
    {
        sb.Append(' ', 4 * rng.Next(4));
        switch (rng.Next(4))
        {
            case 0:
                sb.Append("def func_").Append(Words[rng.Next(Words.Length)]).Append('_').Append(line % 997).Append("(self, ").Append(Words[rng.Next(Words.Length)]).Append("):");
                break;
            case 1:
                sb.Append(Words[rng.Next(Words.Length)]).Append("_count = ").Append(Words[rng.Next(Words.Length)]).Append(".get(\"").Append(Words[rng.Next(Words.Length)]).Append("\", ").Append(rng.Next(100)).Append(')');
                break;
            case 2:
                sb.Append("if ").Append(Words[rng.Next(Words.Length)]).Append(" is None:  # TODO(").Append(Words[rng.Next(Words.Length)]).Append(") handle ").Append(Causes[rng.Next(Causes.Length)]);
                break;
            default:
                sb.Append("return [x * ").Append(rng.Next(2, 9)).Append(" for x in ").Append(Words[rng.Next(Words.Length)]).Append("_values if x > ").Append(rng.Next(50)).Append(']');
                break;
        }
    }

    private static void ProseLine(StringBuilder sb, Random rng)
    {
        int n = rng.Next(6, 18);
        for (int i = 0; i < n; i++)
        {
            if (i > 0)
            {
                sb.Append(' ');
            }

            sb.Append(Words[rng.Next(Words.Length)]);
        }

        sb.Append('.');
    }
}
