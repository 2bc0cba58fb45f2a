using System.Text;

namespace Harness.Formatting;

/// <summary>A column of a <see cref="MarkdownTable"/>: its header and whether its cells align right (numbers).</summary>
public readonly record struct MarkdownColumn(string Header, bool AlignRight)
{
    public static MarkdownColumn Left(string header) => new(header, false);

    public static MarkdownColumn Right(string header) => new(header, true);
}

/// <summary>
/// The one writer of GitHub-flavoured Markdown tables: a header row, the alignment row (<c>---</c> left,
/// <c>---:</c> right) and one line per row, each cell written as <c>| text </c> with <c>|</c> escaped and line breaks
/// turned into spaces, so that no cell can break its table. Every row has exactly one cell per column.
/// </summary>
public sealed class MarkdownTable
{
    private readonly MarkdownColumn[] _columns;
    private readonly List<string[]> _rows = [];

    public MarkdownTable(params IEnumerable<MarkdownColumn> columns)
    {
        _columns = columns.ToArray();
        if (_columns.Length == 0)
        {
            throw new ArgumentException("a table needs at least one column", nameof(columns));
        }
    }

    /// <summary>Adds a row; null cells are written empty.</summary>
    public MarkdownTable Row(params IEnumerable<string?> cells)
    {
        string[] row = cells.Select(c => c ?? "").ToArray();
        if (row.Length != _columns.Length)
        {
            throw new ArgumentException($"a row of {row.Length} cells in a table of {_columns.Length} columns", nameof(cells));
        }

        _rows.Add(row);
        return this;
    }

    /// <summary>Appends the header, the alignment row and every row to <paramref name="sb"/>, each line ending in \n.</summary>
    public StringBuilder AppendTo(StringBuilder sb)
    {
        Line(sb, _columns.Select(c => c.Header));
        foreach (MarkdownColumn column in _columns)
        {
            sb.Append(column.AlignRight ? "|---:" : "|---");
        }

        sb.Append("|\n");
        foreach (string[] row in _rows)
        {
            Line(sb, row);
        }

        return sb;
    }

    public override string ToString() => AppendTo(new StringBuilder()).ToString();

    /// <summary>
    /// Cell text that cannot break a table: <c>|</c> as <c>\|</c>, and each line break (\r\n, \n or \r) as one space.
    /// Also for table text quoted outside a table, where a stray <c>|</c> would start one.
    /// </summary>
    public static string Escape(string text) =>
        text.Replace("|", "\\|", StringComparison.Ordinal)
            .Replace("\r\n", " ", StringComparison.Ordinal)
            .Replace('\n', ' ')
            .Replace('\r', ' ');

    private static void Line(StringBuilder sb, IEnumerable<string> cells)
    {
        foreach (string cell in cells)
        {
            sb.Append("| ").Append(Escape(cell)).Append(' ');
        }

        sb.Append("|\n");
    }
}
