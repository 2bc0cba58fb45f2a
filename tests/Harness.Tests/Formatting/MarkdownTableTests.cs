using Harness.Fleet;
using Harness.Fleet.Slurm;
using Harness.Formatting;

namespace Harness.Tests.Formatting;

public class MarkdownTableTests
{
    [Fact]
    public void Writes_the_header_the_alignment_row_and_one_line_per_row()
    {
        string table = new MarkdownTable(MarkdownColumn.Left("name"), MarkdownColumn.Right("ms"))
            .Row("a", "1.5")
            .Row(null, "")
            .ToString();

        Assert.Equal("| name | ms |\n|---|---:|\n| a | 1.5 |\n|  |  |\n", table);
    }

    [Fact]
    public void A_pipe_in_a_cell_is_escaped_and_a_line_break_becomes_a_space()
    {
        string table = new MarkdownTable(MarkdownColumn.Left("a|b"), MarkdownColumn.Left("why"))
            .Row("x | y", "first\r\nsecond\nthird\rfourth")
            .ToString();

        Assert.Equal("| a\\|b | why |\n|---|---|\n| x \\| y | first second third fourth |\n", table);
    }

    [Fact]
    public void A_row_must_have_one_cell_per_column()
    {
        var table = new MarkdownTable(MarkdownColumn.Left("a"), MarkdownColumn.Left("b"));

        var e = Assert.Throws<ArgumentException>(() => table.Row("only one"));

        Assert.Contains("a row of 1 cells in a table of 2 columns", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_writer_escapes_a_pipe_in_its_cells()
    {
        // squeue's reasons are free text: a '|' in one used to end its cell early and shift the rest of the row.
        string table = SlurmFleet.RenderStatus("7", [new SchedulerTaskState(0, "PENDING", null, "Resources|Priority", "squeue")], null, 1);

        Assert.Contains("| 0 | PENDING |  | Resources\\|Priority |  |  |", table, StringComparison.Ordinal);
    }
}
