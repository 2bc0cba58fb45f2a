using System.Globalization;
using System.Text;
using Harness.Formatting;
using Harness.Hardware;
using Harness.Measurement;

namespace Harness.Serving.Bench;

/// <summary>
/// The bench's Markdown: one row per cell (each side's p50s as the median over the repetitions with
/// their range, the overheads against the targets, the server's CPU per token), then every repetition.
/// </summary>
internal sealed class TaxReport(BenchOptions o, string[] args)
{
    private readonly DateTime _started = DateTime.UtcNow;
    private readonly string _loadAtStart = LoadAverage();
    private readonly List<(Cell Cell, int Rep, Side InProcess, Side Served)> _reps = [];
    private readonly List<string> _loads = [];

    public string Heading() => string.Create(
        CultureInfo.InvariantCulture,
        $"serving tax: {string.Join(", ", o.Models)} on {string.Join(", ", o.Backends)}, concurrency {string.Join(",", o.Concurrency)}, "
        + $"{o.Reps} repetitions, threads {o.Threads?.ToString(CultureInfo.InvariantCulture) ?? "default"}{(o.Spin ? "" : ", spin=0")}");

    /// <summary>A repetition, with the 1-minute load average at its end.</summary>
    public void Add(Cell cell, int rep, Side inProcess, Side served)
    {
        _reps.Add((cell, rep, inProcess, served));
        _loads.Add(LoadAverage());
    }

    /// <summary>results/&lt;machine&gt;/serving-tax_&lt;date&gt;.md; a later run of the same day adds its time.</summary>
    public string DefaultPath()
    {
        string folder = Path.Combine("results", Machine());
        string path = Path.Combine(folder, $"serving-tax_{_started:yyyyMMdd}.md");
        return File.Exists(path) ? Path.Combine(folder, $"serving-tax_{_started:yyyyMMdd'T'HHmm}Z.md") : path;
    }

    public string Markdown()
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.Append(c, $"# Serving tax, {string.Join(", ", o.Backends)} ({_started:yyyy-MM-dd'T'HH:mm}Z)\n\n");
        string cpu = _reps.FirstOrDefault().InProcess?.Result.Hardware?.Cpu is { } info
            ? $"{info.Model}, {info.LogicalCores} logical cores"
            : "";
        sb.Append(c, $"Machine: {Machine()} ({cpu}); load average {_loadAtStart} at the start, {LoadAverage()} at the end. ");
        sb.Append(c, $"Harness {_reps.FirstOrDefault().InProcess?.Result.HarnessVersion}.\n\n");
        sb.Append(c, $"Command: `bench/serving-tax.sh {string.Join(' ', args)}`\n\n");
        sb.Append(c, $"Each cell: {o.Reps} repetitions of in-process then served, one after the other; per side and repetition ");
        sb.Append(c, $"max({BenchOptions.MinRounds}, ceil(requests / C)) measured rounds of C sequences after ");
        sb.Append(o.Warmup is "0" or "0s" ? string.Create(c, $"{o.WarmupRounds} warm-up round(s)") : $"a warm-up of {o.Warmup}")
          .Append(c, $"; serve with --max-batch C --batch-window {o.BatchWindow}")
          .Append(o.Spin ? "" : "; both sides --set spin=0").Append(". A side's figure is the median of its repetitions' p50s, ")
          .Append("with their range in brackets. Overhead: served minus in-process medians. Targets (issue 26): TTFT p50 overhead ")
          .Append("at most max(1 ms, 5%), TPOT p50 overhead at most 3%; \"spread\" marks a verdict the repetitions' own range ")
          .Append("exceeds. Server CPU per generated token over the client's measured window, from /proc per thread ")
          .Append("(bench/README.md); the client's CPU is its own process's.\n\n");

        var table = new MarkdownTable(
            MarkdownColumn.Left("model"), MarkdownColumn.Left("backend"), MarkdownColumn.Right("C"), MarkdownColumn.Right("prompt / new"),
            MarkdownColumn.Right("TTFT p50 in-process ms"), MarkdownColumn.Right("TTFT p50 served ms"),
            MarkdownColumn.Right("TTFT overhead"),
            MarkdownColumn.Left("target"), MarkdownColumn.Right("TPOT p50 in-process ms"), MarkdownColumn.Right("TPOT p50 served ms"),
            MarkdownColumn.Right("TPOT overhead"), MarkdownColumn.Left("target"),
            MarkdownColumn.Right("server CPU outside the decoder µs/token"), MarkdownColumn.Right("decoder CPU µs/token"),
            MarkdownColumn.Right("client CPU µs/token"));
        foreach (IGrouping<Cell, (Cell Cell, int Rep, Side InProcess, Side Served)> cell in _reps.GroupBy(r => r.Cell))
        {
            Spread ttftIn = new(cell.Select(r => r.InProcess.TtftP50)), ttftOut = new(cell.Select(r => r.Served.TtftP50));
            Spread tpotIn = new(cell.Select(r => r.InProcess.TpotP50)), tpotOut = new(cell.Select(r => r.Served.TpotP50));
            var serving = new Spread(cell.Select(r => r.Served.ServerCpuUsPerToken?.Serving ?? double.NaN));
            var decoder = new Spread(cell.Select(r => r.Served.ServerCpuUsPerToken?.Decoder ?? double.NaN));
            var client = new Spread(cell.Select(r => r.Served.ClientCpuUsPerToken ?? double.NaN));
            Cell k = cell.Key;
            table.Row(
                k.Model, k.Backend, $"{k.Concurrency}", $"{k.PromptTokens} / {k.NewTokens}",
                ttftIn.ToString("0.00"), ttftOut.ToString("0.00"), Overhead(ttftIn, ttftOut),
                Verdict(ttftIn, ttftOut, Math.Max(1.0, 0.05 * ttftIn.Median)),
                tpotIn.ToString("0.00"), tpotOut.ToString("0.00"), Overhead(tpotIn, tpotOut),
                Verdict(tpotIn, tpotOut, 0.03 * tpotIn.Median),
                serving.ToString("0.0"), decoder.ToString("0.0"), client.ToString("0.0"));
        }

        table.AppendTo(sb);
        sb.Append("\n## Repetitions\n\n");
        var reps = new MarkdownTable(
            MarkdownColumn.Left("cell"), MarkdownColumn.Right("rep"), MarkdownColumn.Right("in-process TTFT / TPOT p50 ms"),
            MarkdownColumn.Right("served TTFT / TPOT p50 ms"), MarkdownColumn.Right("requests in-process / served"),
            MarkdownColumn.Right("server CPU outside / in the decoder µs/token"), MarkdownColumn.Right("load average"),
            MarkdownColumn.Left("notes"));
        for (int i = 0; i < _reps.Count; i++)
        {
            (Cell cell, int rep, Side inProcess, Side served) = _reps[i];
            string cpuSplit = served.ServerCpuUsPerToken is var (s, d) ? string.Create(c, $"{s:0.0} / {d:0.0}") : "";
            IEnumerable<string> notes = inProcess.Notes(cell).Select(n => "in-process " + n)
                .Concat(served.Notes(cell).Select(n => "served " + n));
            reps.Row(
                cell.ToString(), $"{rep}", string.Create(c, $"{inProcess.TtftP50:0.00} / {inProcess.TpotP50:0.00}"),
                string.Create(c, $"{served.TtftP50:0.00} / {served.TpotP50:0.00}"),
                $"{inProcess.Result.Metrics.RequestsOk} x {cell.Concurrency} / {served.Result.Metrics.RequestsOk}", cpuSplit,
                _loads[i], string.Join("; ", notes));
        }

        reps.AppendTo(sb);
        return sb.ToString();
    }

    private static string Overhead(Spread inProcess, Spread served)
    {
        double over = served.Median - inProcess.Median;
        return string.Create(CultureInfo.InvariantCulture, $"{over:+0.00;-0.00} ms ({100 * over / inProcess.Median:+0.0;-0.0}%)");
    }

    /// <summary>met or MISSED against <paramref name="allowed"/>; "spread" where either side's range of repetitions exceeds it.</summary>
    private static string Verdict(Spread inProcess, Spread served, double allowed)
    {
        double over = served.Median - inProcess.Median;
        string verdict = over <= allowed ? "met" : "MISSED";
        string spread = Math.Max(inProcess.Range, served.Range) > allowed ? ", spread" : "";
        return string.Create(CultureInfo.InvariantCulture, $"<= {allowed:0.00} ms: {verdict}{spread}");
    }

    private string Machine() =>
        _reps.FirstOrDefault().InProcess?.Result.Hardware is { } hw ? HardwareProbe.MachineLabel(hw) : "unknown-machine";

    private static string LoadAverage()
    {
        try
        {
            return File.ReadAllText("/proc/loadavg").Split(' ')[0];
        }
        catch (IOException)
        {
            return "?";
        }
    }

    /// <summary>The median of a cell's repetitions and their range (NaN, a figure not measured, left out).</summary>
    private sealed class Spread
    {
        private readonly double[] _values;

        public Spread(IEnumerable<double> values)
        {
            _values = [.. values.Where(double.IsFinite)];
            Median = _values.Length > 0 ? Statistics.Median(_values) : double.NaN;
        }

        public double Median { get; }

        public double Range => _values.Length > 0 ? _values.Max() - _values.Min() : 0;

        public string ToString(string format) => _values.Length == 0 ? "" : _values.Length == 1
            ? Median.ToString(format, CultureInfo.InvariantCulture)
            : string.Create(
                CultureInfo.InvariantCulture,
                $"{Median.ToString(format, CultureInfo.InvariantCulture)} ({_values.Min().ToString(format, CultureInfo.InvariantCulture)}"
                + $"..{_values.Max().ToString(format, CultureInfo.InvariantCulture)})");
    }
}
