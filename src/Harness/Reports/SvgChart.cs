using System.Globalization;
using System.Net;
using System.Text;
using static System.FormattableString;

namespace Harness.Reports;

/// <summary>A span of the x axis shaded behind a chart's series, with its tooltip.</summary>
/// <param name="Kind"><c>disturbed</c> (other work on the machine) or <c>warmup</c>.</param>
/// <param name="Run">The run it belongs to, for the page's filter.</param>
public sealed record ChartBand(double From, double To, string Label, string Kind, string? Run = null);

/// <summary>Which axis a reference line crosses: <see cref="X"/> draws a vertical line at an x value.</summary>
public enum ChartAxis
{
    X,
    Y,
}

/// <summary>
/// The one place the reports draw: an inline SVG chart with axes that carry their units, round ticks
/// (linear or log10), one colour per series from a colour-blind-safe palette, a legend, shaded bands
/// (warm-up, disturbed windows), reference lines (a limit, a target, an answer), and for charts over
/// named things (runs, metrics, cards, tools) a row axis with bars and error bars. A view adds a chart
/// by filling one of these; no view writes SVG itself. No script, font or style from elsewhere.
/// </summary>
public sealed class SvgChart
{
    /// <summary>Okabe-Ito palette: distinguishable for the common colour-vision deficiencies.</summary>
    private static readonly string[] Palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"];

    private const double RowLabelCharWidth = 6.2;
    private const int RowLabelMaxChars = 36;

    private readonly List<Series> _series = [];
    private readonly List<Rule> _rules = [];

    /// <param name="id">The chart's kind, written as <c>data-chart</c> (tests and scripts find charts by it).</param>
    /// <param name="xLabel">The x axis with its unit in parentheses, e.g. "latency (ms)".</param>
    /// <param name="yLabel">The y axis with its unit; for a chart with <see cref="Rows"/>, what the rows are ("run").</param>
    public SvgChart(string id, string title, string xLabel, string yLabel)
    {
        Id = id;
        Title = title;
        XLabel = xLabel;
        YLabel = yLabel;
    }

    public string Id { get; }

    public string Title { get; }

    public string XLabel { get; }

    public string YLabel { get; }

    public bool LogX { get; init; }

    public bool LogY { get; init; }

    public double? XMin { get; init; }

    public double? XMax { get; init; }

    public double? YMin { get; init; }

    public double? YMax { get; init; }

    /// <summary>
    /// Names of the rows when the y axis names things instead of measuring them: a point's Y is then
    /// its row's index (0 at the top), and bars and error bars run along x.
    /// </summary>
    public IReadOnlyList<string>? Rows { get; init; }

    /// <summary>The run each row shows, for the page's filter (<c>data-run</c>); null entries for rows of no one run.</summary>
    public IReadOnlyList<string?>? RowRuns { get; init; }

    public int SeriesCount => _series.Count;

    /// <summary>Spans of the x axis shaded behind the series: <c>disturbed</c> windows and the <c>warmup</c>, each with a tooltip.</summary>
    public List<ChartBand> Bands { get; } = [];

    /// <param name="lines">Join the points with a line.</param>
    /// <param name="markers">Draw a dot at each point.</param>
    /// <param name="colorIndex">Fixed palette index; null takes the next colour.</param>
    /// <param name="run">The run the series shows, for the page's filter.</param>
    public SvgChart Add(string name, IEnumerable<(double X, double Y)> points, bool lines = true, bool markers = false, bool dashed = false, int? colorIndex = null, string? run = null) =>
        AddSeries(new Series(name, SeriesKind.Line, points.Select(p => new Mark(p.X, p.Y, null, null)).ToList(), lines, markers, dashed, colorIndex, run, null));

    /// <summary>
    /// Points with an error bar from <c>Low</c> to <c>High</c>: along x on a chart with <see cref="Rows"/>
    /// (a confidence interval per metric, a spread per node), else along y.
    /// </summary>
    public SvgChart AddIntervals(string name, IEnumerable<(double X, double Y, double Low, double High)> points, int? colorIndex = null, string? run = null) =>
        AddSeries(new Series(name, SeriesKind.Interval, points.Select(p => new Mark(p.X, p.Y, p.Low, p.High)).ToList(), false, true, false, colorIndex, run, null));

    /// <summary>
    /// Horizontal bars on a chart with <see cref="Rows"/>, each from <c>From</c> to <c>To</c> along x.
    /// Bar series that share a <paramref name="stack"/> name share a lane (a stacked bar); the others get a lane each.
    /// </summary>
    public SvgChart AddBars(string name, IEnumerable<(int Row, double From, double To)> bars, int? colorIndex = null, string? stack = null)
    {
        if (Rows is null)
        {
            throw new InvalidOperationException($"chart '{Id}': bars need rows (set Rows)");
        }

        return AddSeries(new Series(name, SeriesKind.Bar, bars.Select(b => new Mark(b.To, b.Row, b.From, b.To)).ToList(), false, false, false, colorIndex, null, stack));
    }

    /// <summary>A reference line across the plot (a limit, a target, an answer) with its label beside it.</summary>
    public SvgChart AddRule(ChartAxis axis, double at, string label, int colorIndex = 6, bool dashed = true)
    {
        if (double.IsFinite(at) && (axis == ChartAxis.X ? !LogX || at > 0 : !LogY || at > 0))
        {
            _rules.Add(new Rule(axis, at, label, Palette[colorIndex % Palette.Length], dashed));
        }

        return this;
    }

    public string Render(int width = 760, int? height = null)
    {
        int rowCount = Rows?.Count ?? 0;
        double lanes = Math.Max(1, _series.Where(s => s.Kind == SeriesKind.Bar).Select(s => s.Stack ?? "\u0001" + s.Name).Distinct().Count());
        double rowHeight = Math.Max(24, lanes * 12 + 8);
        double left = Rows is null ? 78 : 30 + Math.Min(RowLabelMaxChars, Rows.Select(r => r.Length).DefaultIfEmpty(4).Max()) * RowLabelCharWidth;
        const double right = 24, top = 40, bottom = 60;
        double legend = LegendHeight(width - left - right);
        double plotH = Rows is null ? (height ?? 420) - top - bottom - legend : rowCount * rowHeight;
        int h = (int)Math.Ceiling(top + plotH + bottom + legend);
        double plotW = width - left - right;

        // Error bars and bars run along x on a chart with rows, along y otherwise: the axis they run on must hold their ends.
        var xs = _series.SelectMany(s => s.Marks.SelectMany(m => Rows is null ? new[] { m.X } : new[] { m.X, m.Low ?? m.X, m.High ?? m.X }))
            .Concat(_rules.Where(r => r.Axis == ChartAxis.X).Select(r => r.At)).ToList();
        var ys = _series.SelectMany(s => s.Marks.SelectMany(m => Rows is null ? new[] { m.Y, m.Low ?? m.Y, m.High ?? m.Y } : Array.Empty<double>()))
            .Concat(_rules.Where(r => r.Axis == ChartAxis.Y).Select(r => r.At)).ToList();
        bool bars = _series.Any(s => s.Kind == SeriesKind.Bar);
        Axis x = Axis.Create(XMin ?? (bars && !LogX ? Math.Min(0, xs.DefaultIfEmpty(0).Min()) : xs.Count > 0 ? xs.Min() : 0), XMax ?? (xs.Count > 0 ? xs.Max() : 1), LogX);
        Axis y = Rows is null ? Axis.Create(YMin ?? (ys.Count > 0 ? ys.Min() : 0), YMax ?? (ys.Count > 0 ? ys.Max() : 1), LogY) : Axis.Create(0, 1, false);
        double Px(double v) => left + (x.Fraction(v) * plotW);
        double Py(double v) => Rows is null ? top + ((1 - y.Fraction(v)) * plotH) : top + ((v + 0.5) * rowHeight);

        var sb = new StringBuilder();
        sb.Append(Invariant($"<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" data-chart=\"{Esc(Id)}\" width=\"{width}\" height=\"{h}\" viewBox=\"0 0 {width} {h}\" role=\"img\" aria-label=\"{Esc(Title)}\">"));
        sb.Append(Invariant($"<title>{Esc(Title)}</title>"));
        sb.Append(Invariant($"<rect x=\"0\" y=\"0\" width=\"{width}\" height=\"{h}\" fill=\"#ffffff\"/>"));
        sb.Append(Invariant($"<text x=\"{left:0.#}\" y=\"22\" class=\"chart-title\" font-size=\"15\" font-weight=\"600\" fill=\"#222\">{Esc(Title)}</text>"));

        // Grid and ticks.
        sb.Append("<g class=\"axes\" font-size=\"11\" fill=\"#444\">");
        foreach (double t in x.Ticks())
        {
            double px = Px(t);
            sb.Append(Invariant(
                $"<line x1=\"{px:0.##}\" y1=\"{top:0.##}\" x2=\"{px:0.##}\" y2=\"{top + plotH:0.##}\" stroke=\"#e3e3e3\"/>"));
            sb.Append(Invariant($"<text class=\"tick x\" x=\"{px:0.##}\" y=\"{top + plotH + 16:0.##}\" text-anchor=\"middle\">{Esc(Axis.Label(t))}</text>"));
        }

        if (Rows is null)
        {
            foreach (double t in y.Ticks())
            {
                double py = Py(t);
                sb.Append(Invariant($"<line x1=\"{left:0.##}\" y1=\"{py:0.##}\" x2=\"{left + plotW:0.##}\" y2=\"{py:0.##}\" stroke=\"#e3e3e3\"/>"));
                sb.Append(Invariant($"<text class=\"tick y\" x=\"{left - 6:0.##}\" y=\"{py + 4:0.##}\" text-anchor=\"end\">{Esc(Axis.Label(t))}</text>"));
            }
        }
        else
        {
            for (int i = 0; i < Rows.Count; i++)
            {
                double py = Py(i);
                if (i % 2 == 1)
                {
                    sb.Append(Invariant($"<rect x=\"{left:0.##}\" y=\"{py - (rowHeight / 2):0.##}\" width=\"{plotW:0.##}\" height=\"{rowHeight:0.##}\" fill=\"#f6f6f6\"{RunAttribute(i)}/>"));
                }

                sb.Append(Invariant($"<text class=\"tick y row\" x=\"{left - 6:0.##}\" y=\"{py + 4:0.##}\" text-anchor=\"end\"{RunAttribute(i)}>{Esc(Truncate(Rows[i], RowLabelMaxChars))}<title>{Esc(Rows[i])}</title></text>"));
            }
        }

        foreach (ChartBand band in Bands)
        {
            double x0 = Math.Clamp(Px(band.From), left, left + plotW), x1 = Math.Clamp(Px(band.To), left, left + plotW);
            string fill = band.Kind == "warmup" ? "#999999" : "#D55E00";
            string run = band.Run is null ? "" : $" data-run=\"{Esc(band.Run)}\"";
            sb.Append(Invariant($"<rect class=\"band {Esc(band.Kind)}\" x=\"{x0:0.##}\" y=\"{top:0.##}\" width=\"{Math.Max(1, x1 - x0):0.##}\" height=\"{plotH:0.##}\" fill=\"{fill}\" fill-opacity=\"0.15\"{run}><title>{Esc(band.Label)}</title></rect>"));
        }

        sb.Append(Invariant($"<rect x=\"{left:0.##}\" y=\"{top:0.##}\" width=\"{plotW:0.##}\" height=\"{plotH:0.##}\" fill=\"none\" stroke=\"#888\"/>"));
        sb.Append(Invariant($"<text class=\"axis-label x\" data-axis=\"value\" x=\"{left + (plotW / 2):0.##}\" y=\"{top + plotH + 36:0.##}\" text-anchor=\"middle\" font-size=\"12\">{Esc(XLabel + (LogX ? " (log scale)" : ""))}</text>"));
        sb.Append(Invariant($"<text class=\"axis-label y\" data-axis=\"{(Rows is null ? "value" : "category")}\" transform=\"translate(14 {top + (plotH / 2):0.##}) rotate(-90)\" text-anchor=\"middle\" font-size=\"12\">{Esc(YLabel + (LogY ? " (log scale)" : ""))}</text>"));
        sb.Append("</g>");

        // Error bars of several series on one row sit a little apart so that neither hides the other.
        var offsets = new Dictionary<(Series, int), double>();
        if (Rows is not null)
        {
            foreach (var row in _series.Where(s => s.Kind == SeriesKind.Interval).SelectMany(s => s.Marks.Select(m => (Series: s, Row: (int)m.Y))).Distinct().GroupBy(x => x.Row))
            {
                var here = row.ToList();
                for (int i = 0; i < here.Count; i++)
                {
                    offsets[(here[i].Series, row.Key)] = (i - ((here.Count - 1) / 2.0)) * Math.Min(8, (rowHeight - 6) / here.Count);
                }
            }
        }

        var laneOf = _series.Where(s => s.Kind == SeriesKind.Bar).Select(s => s.Stack ?? "\u0001" + s.Name).Distinct().Select((key, i) => (key, i)).ToDictionary(p => p.key, p => p.i);
        foreach (Series s in _series)
        {
            sb.Append(Invariant(
                $"<g class=\"series\" data-series=\"{Esc(s.Name)}\"{(s.Run is null ? "" : $" data-run=\"{Esc(s.Run)}\"")}>"));
            switch (s.Kind)
            {
                case SeriesKind.Bar:
                    int lane = laneOf[s.Stack ?? "\u0001" + s.Name];
                    double thickness = (rowHeight - 8) / lanes;
                    foreach (Mark m in s.Marks)
                    {
                        double x0 = Px(Math.Min(m.Low!.Value, m.High!.Value)), x1 = Px(Math.Max(m.Low.Value, m.High.Value));
                        double y0 = Py(m.Y) - ((rowHeight - 8) / 2) + (lane * thickness);
                        sb.Append(Invariant($"<rect class=\"bar\" x=\"{x0:0.##}\" y=\"{y0:0.##}\" width=\"{Math.Max(1, x1 - x0):0.##}\" height=\"{Math.Max(1, thickness - 1):0.##}\" fill=\"{s.Color}\"{RunAttribute((int)m.Y)}><title>{Esc(RowName(m.Y))}: {Esc(s.Name)} {Axis.Label(m.High.Value - m.Low.Value)}</title></rect>"));
                    }

                    break;
                case SeriesKind.Interval:
                    foreach (Mark m in s.Marks)
                    {
                        double shift = offsets.GetValueOrDefault((s, (int)m.Y));
                        (double ax, double ay, double bx, double by) = Rows is null
                            ? (Px(m.X), Py(m.Low!.Value), Px(m.X), Py(m.High!.Value))
                            : (Px(m.Low!.Value), Py(m.Y) + shift, Px(m.High!.Value), Py(m.Y) + shift);
                        string run = Rows is null ? "" : RunAttribute((int)m.Y);
                        sb.Append(Invariant($"<line class=\"error-bar\" x1=\"{ax:0.##}\" y1=\"{ay:0.##}\" x2=\"{bx:0.##}\" y2=\"{by:0.##}\" stroke=\"{s.Color}\" stroke-width=\"2\"{run}/>"));
                        foreach ((double ex, double ey) in new[] { (ax, ay), (bx, by) })
                        {
                            sb.Append(Rows is null
                                ? Invariant($"<line x1=\"{ex - 4:0.##}\" y1=\"{ey:0.##}\" x2=\"{ex + 4:0.##}\" y2=\"{ey:0.##}\" stroke=\"{s.Color}\" stroke-width=\"2\"{run}/>")
                                : Invariant($"<line x1=\"{ex:0.##}\" y1=\"{ey - 4:0.##}\" x2=\"{ex:0.##}\" y2=\"{ey + 4:0.##}\" stroke=\"{s.Color}\" stroke-width=\"2\"{run}/>"));
                        }

                        string where = Rows is null ? Axis.Label(m.X) : RowName(m.Y);
                        double value = Rows is null ? m.Y : m.X;
                        sb.Append(Invariant($"<circle cx=\"{Px(m.X):0.##}\" cy=\"{Py(m.Y) + shift:0.##}\" r=\"4.5\" fill=\"{s.Color}\"{run}><title>{Esc(s.Name)}: {Esc(where)}: {Axis.Label(value)} [{Axis.Label(m.Low.Value)}, {Axis.Label(m.High.Value)}]</title></circle>"));
                    }

                    break;
                default:
                    if (s.Lines && s.Marks.Count > 1)
                    {
                        string pts = string.Join(" ", s.Marks.Select(m => Invariant($"{Px(m.X):0.##},{Py(m.Y):0.##}")));
                        sb.Append(Invariant($"<polyline fill=\"none\" stroke=\"{s.Color}\" stroke-width=\"2\"{(s.Dashed ? " stroke-dasharray=\"6 4\"" : "")} points=\"{pts}\"/>"));
                    }

                    if (s.Markers || s.Marks.Count == 1)
                    {
                        foreach (Mark m in s.Marks)
                        {
                            string run = Rows is null ? "" : RunAttribute((int)m.Y);
                            string where = Rows is null ? $"{Axis.Label(m.X)}, {Axis.Label(m.Y)}" : $"{RowName(m.Y)}: {Axis.Label(m.X)}";
                            sb.Append(Invariant($"<circle cx=\"{Px(m.X):0.##}\" cy=\"{Py(m.Y):0.##}\" r=\"4\" fill=\"{s.Color}\"{run}><title>{Esc(s.Name)}: {Esc(where)}</title></circle>"));
                        }
                    }

                    break;
            }

            sb.Append("</g>");
        }

        int verticalRules = 0;
        foreach (Rule r in _rules)
        {
            string dash = r.Dashed ? " stroke-dasharray=\"5 4\"" : "";
            sb.Append(Invariant($"<g class=\"rule\" data-rule=\"{Esc(r.Label)}\" font-size=\"11\" fill=\"{r.Color}\">"));
            if (r.Axis == ChartAxis.X)
            {
                double px = Px(r.At);
                bool rightSide = px < left + (plotW * 0.7);
                sb.Append(Invariant($"<line x1=\"{px:0.##}\" y1=\"{top:0.##}\" x2=\"{px:0.##}\" y2=\"{top + plotH:0.##}\" stroke=\"{r.Color}\" stroke-width=\"1.5\"{dash}/>"));
                // Labels of several vertical lines step down so that they do not overprint.
                double labelY = top + 12 + (13 * (verticalRules++ % Math.Max(1, (int)(plotH / 13) - 1)));
                sb.Append(Invariant($"<text x=\"{px + (rightSide ? 4 : -4):0.##}\" y=\"{labelY:0.##}\" text-anchor=\"{(rightSide ? "start" : "end")}\" paint-order=\"stroke\" stroke=\"#ffffff\" stroke-width=\"3\">{Esc(r.Label)}</text>"));
            }
            else
            {
                double py = Rows is null ? Py(r.At) : top + plotH;
                sb.Append(Invariant($"<line x1=\"{left:0.##}\" y1=\"{py:0.##}\" x2=\"{left + plotW:0.##}\" y2=\"{py:0.##}\" stroke=\"{r.Color}\" stroke-width=\"1.5\"{dash}/>"));
                sb.Append(Invariant($"<text x=\"{left + plotW - 4:0.##}\" y=\"{py - 4:0.##}\" text-anchor=\"end\" paint-order=\"stroke\" stroke=\"#ffffff\" stroke-width=\"3\">{Esc(r.Label)}</text>"));
            }

            sb.Append("</g>");
        }

        // Legend below the plot, wrapped in rows.
        double lx = left, ly = top + plotH + 50;
        sb.Append("<g class=\"legend\" font-size=\"11\" fill=\"#222\">");
        foreach (Series s in _series)
        {
            double w = LegendWidth(s);
            if (lx + w > width - right && lx > left)
            {
                lx = left;
                ly += 16;
            }

            sb.Append(s.Kind == SeriesKind.Bar
                ? Invariant($"<rect x=\"{lx:0.##}\" y=\"{ly - 9:0.##}\" width=\"18\" height=\"9\" fill=\"{s.Color}\"/>")
                : Invariant($"<line x1=\"{lx:0.##}\" y1=\"{ly - 4:0.##}\" x2=\"{lx + 18:0.##}\" y2=\"{ly - 4:0.##}\" stroke=\"{s.Color}\" stroke-width=\"3\"{(s.Dashed ? " stroke-dasharray=\"4 3\"" : "")}/>"));
            sb.Append(Invariant($"<text x=\"{lx + 22:0.##}\" y=\"{ly:0.##}\">{Esc(Truncate(s.Name, 60))}</text>"));
            lx += w;
        }

        sb.Append("</g></svg>");
        return sb.ToString();
    }

    private SvgChart AddSeries(Series s)
    {
        var usable = s.Marks.Where(m => double.IsFinite(m.X) && double.IsFinite(m.Y)
            && (!LogX || (m.X > 0 && (Rows is null || ((m.Low ?? 1) > 0 && (m.High ?? 1) > 0))))
            && (!LogY || (m.Y > 0 && (Rows is not null || ((m.Low ?? 1) > 0 && (m.High ?? 1) > 0))))
            && (m.Low is null || (double.IsFinite(m.Low.Value) && double.IsFinite(m.High!.Value)))).ToList();
        if (usable.Count > 0)
        {
            _series.Add(s with { Marks = usable, Color = Palette[(s.ColorIndex ?? _series.Count) % Palette.Length] });
        }

        return this;
    }

    private string RunAttribute(int row) =>
        RowRuns is { } runs && row >= 0 && row < runs.Count && runs[row] is { } run ? $" data-run=\"{Esc(run)}\"" : "";

    private string RowName(double row) => Rows is { } rows && (int)row >= 0 && (int)row < rows.Count ? rows[(int)row] : "";

    private static double LegendWidth(Series s) => 36 + (Math.Min(s.Name.Length, 60) * 6.6);

    private double LegendHeight(double available)
    {
        double lines = 1, used = 0;
        foreach (Series s in _series)
        {
            double w = LegendWidth(s);
            if (used + w > available && used > 0)
            {
                lines++;
                used = 0;
            }

            used += w;
        }

        return _series.Count == 0 ? 0 : (lines - 1) * 16;
    }

    private static string Truncate(string s, int n) => s.Length <= n ? s : s[..(n - 1)] + "…";

    internal static string Esc(string s) => WebUtility.HtmlEncode(s);

    private enum SeriesKind
    {
        Line,
        Interval,
        Bar,
    }

    /// <summary>A point; Low and High are an error bar (intervals) or a bar's ends (bars).</summary>
    private readonly record struct Mark(double X, double Y, double? Low, double? High);

    private sealed record Series(string Name, SeriesKind Kind, List<Mark> Marks, bool Lines, bool Markers, bool Dashed, int? ColorIndex, string? Run, string? Stack)
    {
        public string Color { get; init; } = "";
    }

    private sealed record Rule(ChartAxis Axis, double At, string Label, string Color, bool Dashed);

    /// <summary>Maps values to [0, 1] and proposes round tick values.</summary>
    private sealed class Axis
    {
        private Axis(double min, double max, bool log)
        {
            Min = min;
            Max = max;
            Log = log;
        }

        public double Min { get; }

        public double Max { get; }

        public bool Log { get; }

        public static Axis Create(double min, double max, bool log)
        {
            if (log)
            {
                min = Math.Max(min, 1e-12);
                max = Math.Max(max, min);
                double lo = Math.Pow(10, Math.Floor(Math.Log10(min)));
                double hi = Math.Pow(10, Math.Ceiling(Math.Log10(max)));
                if (hi <= lo)
                {
                    hi = lo * 10;
                }

                return new Axis(lo, hi, true);
            }

            if (max <= min)
            {
                double pad = Math.Abs(min) > 0 ? Math.Abs(min) * 0.1 : 1;
                min -= pad;
                max += pad;
            }

            double step = NiceStep((max - min) / 5);
            return new Axis(Math.Floor(min / step) * step, Math.Ceiling(max / step) * step, false);
        }

        public double Fraction(double v) => Log
            ? (Math.Log10(v) - Math.Log10(Min)) / (Math.Log10(Max) - Math.Log10(Min))
            : (v - Min) / (Max - Min);

        public IEnumerable<double> Ticks()
        {
            if (Log)
            {
                int decades = (int)Math.Round(Math.Log10(Max / Min));
                for (double d = Min; d <= Max * 1.0001; d *= 10)
                {
                    yield return d;
                    if (decades <= 2)
                    {
                        if (d * 2 < Max)
                        {
                            yield return d * 2;
                        }

                        if (d * 5 < Max)
                        {
                            yield return d * 5;
                        }
                    }
                }

                yield break;
            }

            double step = NiceStep((Max - Min) / 5);
            for (double t = Min; t <= Max + (step * 1e-9); t += step)
            {
                yield return Math.Abs(t) < step * 1e-9 ? 0 : t;
            }
        }

        public static string Label(double v)
        {
            double a = Math.Abs(v);
            return a switch
            {
                0 => "0",
                >= 1e6 => (v / 1e6).ToString("0.##", CultureInfo.InvariantCulture) + "M",
                >= 1e4 => (v / 1e3).ToString("0.##", CultureInfo.InvariantCulture) + "k",
                >= 1 => v.ToString("0.##", CultureInfo.InvariantCulture),
                >= 0.001 => v.ToString("0.####", CultureInfo.InvariantCulture),
                _ => v.ToString("0.##E+0", CultureInfo.InvariantCulture),
            };
        }

        private static double NiceStep(double raw)
        {
            if (!(raw > 0) || !double.IsFinite(raw))
            {
                return 1;
            }

            double mag = Math.Pow(10, Math.Floor(Math.Log10(raw)));
            double f = raw / mag;
            return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
        }
    }
}
