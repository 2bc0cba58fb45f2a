using System.Globalization;
using System.Net;
using System.Text;

namespace Harness.Reports;

/// <summary>
/// A small line-and-scatter chart rendered as inline SVG: axes with round ticks (linear or log10),
/// one colour per series from a colour-blind-safe palette, and a legend. No script, no external
/// font or style: the report must render from a single file, offline.
/// </summary>
public sealed class SvgChart
{
    /// <summary>Okabe-Ito palette: distinguishable for the common colour-vision deficiencies.</summary>
    private static readonly string[] Palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"];

    private readonly List<Series> _series = [];

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

    public int SeriesCount => _series.Count;

    /// <summary>Spans of the x axis shaded behind the series (disturbed windows), each with a tooltip.</summary>
    public List<(double From, double To, string Label)> Bands { get; } = [];

    /// <param name="lines">Join the points with a line.</param>
    /// <param name="markers">Draw a dot at each point.</param>
    /// <param name="colorIndex">Fixed palette index; null takes the next colour.</param>
    public SvgChart Add(string name, IEnumerable<(double X, double Y)> points, bool lines = true, bool markers = false, bool dashed = false, int? colorIndex = null)
    {
        var usable = points.Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y) && (!LogX || p.X > 0) && (!LogY || p.Y > 0)).ToList();
        if (usable.Count > 0)
        {
            _series.Add(new Series(name, usable, lines, markers, dashed, Palette[(colorIndex ?? _series.Count) % Palette.Length]));
        }

        return this;
    }

    public string Render(int width = 760, int height = 420)
    {
        const double left = 78, right = 24, top = 40, bottom = 60;
        double plotW = width - left - right, plotH = height - top - bottom - LegendHeight();
        var xs = _series.SelectMany(s => s.Points.Select(p => p.X)).ToList();
        var ys = _series.SelectMany(s => s.Points.Select(p => p.Y)).ToList();
        Axis x = Axis.Create(XMin ?? (xs.Count > 0 ? xs.Min() : 0), XMax ?? (xs.Count > 0 ? xs.Max() : 1), LogX);
        Axis y = Axis.Create(YMin ?? (ys.Count > 0 ? ys.Min() : 0), YMax ?? (ys.Count > 0 ? ys.Max() : 1), LogY);
        double Px(double v) => left + x.Fraction(v) * plotW;
        double Py(double v) => top + (1 - y.Fraction(v)) * plotH;

        var sb = new StringBuilder();
        sb.Append(Inv($"<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" data-chart=\"{Esc(Id)}\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-labelledby=\"{Esc(Id)}-title\">"));
        sb.Append(Inv($"<title id=\"{Esc(Id)}-title\">{Esc(Title)}</title>"));
        sb.Append(Inv($"<rect x=\"0\" y=\"0\" width=\"{width}\" height=\"{height}\" fill=\"#ffffff\"/>"));
        sb.Append(Inv($"<text x=\"{left:0.#}\" y=\"22\" class=\"chart-title\" font-size=\"15\" font-weight=\"600\" fill=\"#222\">{Esc(Title)}</text>"));

        // Grid and ticks.
        sb.Append("<g class=\"axes\" font-size=\"11\" fill=\"#444\">");
        foreach (double t in x.Ticks())
        {
            double px = Px(t);
            sb.Append(Inv($"<line x1=\"{px:0.##}\" y1=\"{top:0.##}\" x2=\"{px:0.##}\" y2=\"{top + plotH:0.##}\" stroke=\"#e3e3e3\"/>"));
            sb.Append(Inv($"<text x=\"{px:0.##}\" y=\"{top + plotH + 16:0.##}\" text-anchor=\"middle\">{Esc(Axis.Label(t))}</text>"));
        }

        foreach (double t in y.Ticks())
        {
            double py = Py(t);
            sb.Append(Inv($"<line x1=\"{left:0.##}\" y1=\"{py:0.##}\" x2=\"{left + plotW:0.##}\" y2=\"{py:0.##}\" stroke=\"#e3e3e3\"/>"));
            sb.Append(Inv($"<text x=\"{left - 6:0.##}\" y=\"{py + 4:0.##}\" text-anchor=\"end\">{Esc(Axis.Label(t))}</text>"));
        }

        foreach ((double from, double to, string label) in Bands)
        {
            double x0 = Math.Clamp(Px(from), left, left + plotW), x1 = Math.Clamp(Px(to), left, left + plotW);
            sb.Append(Inv($"<rect class=\"band disturbed\" x=\"{x0:0.##}\" y=\"{top:0.##}\" width=\"{Math.Max(1, x1 - x0):0.##}\" height=\"{plotH:0.##}\" fill=\"#D55E00\" fill-opacity=\"0.15\"><title>{Esc(label)}</title></rect>"));
        }

        sb.Append(Inv($"<rect x=\"{left:0.##}\" y=\"{top:0.##}\" width=\"{plotW:0.##}\" height=\"{plotH:0.##}\" fill=\"none\" stroke=\"#888\"/>"));
        sb.Append(Inv($"<text x=\"{left + plotW / 2:0.##}\" y=\"{top + plotH + 36:0.##}\" text-anchor=\"middle\" font-size=\"12\">{Esc(XLabel + (LogX ? " (log scale)" : ""))}</text>"));
        sb.Append(Inv($"<text transform=\"translate(16 {top + plotH / 2:0.##}) rotate(-90)\" text-anchor=\"middle\" font-size=\"12\">{Esc(YLabel + (LogY ? " (log scale)" : ""))}</text>"));
        sb.Append("</g>");

        foreach (Series s in _series)
        {
            sb.Append(Inv($"<g class=\"series\" data-series=\"{Esc(s.Name)}\">"));
            if (s.Lines && s.Points.Count > 1)
            {
                string pts = string.Join(" ", s.Points.Select(p => Inv($"{Px(p.X):0.##},{Py(p.Y):0.##}")));
                sb.Append(Inv($"<polyline fill=\"none\" stroke=\"{s.Color}\" stroke-width=\"2\"{(s.Dashed ? " stroke-dasharray=\"6 4\"" : "")} points=\"{pts}\"/>"));
            }

            if (s.Markers || s.Points.Count == 1)
            {
                foreach ((double px, double py) in s.Points)
                {
                    sb.Append(Inv($"<circle cx=\"{Px(px):0.##}\" cy=\"{Py(py):0.##}\" r=\"4\" fill=\"{s.Color}\"><title>{Esc(s.Name)}: {Axis.Label(px)}, {Axis.Label(py)}</title></circle>"));
                }
            }

            sb.Append("</g>");
        }

        // Legend below the plot, wrapped in rows.
        double lx = left, ly = top + plotH + 50;
        sb.Append("<g class=\"legend\" font-size=\"11\" fill=\"#222\">");
        foreach (Series s in _series)
        {
            double w = 26 + Math.Min(s.Name.Length, 60) * 6.2;
            if (lx + w > width - right && lx > left)
            {
                lx = left;
                ly += 16;
            }

            sb.Append(Inv($"<line x1=\"{lx:0.##}\" y1=\"{ly - 4:0.##}\" x2=\"{lx + 18:0.##}\" y2=\"{ly - 4:0.##}\" stroke=\"{s.Color}\" stroke-width=\"3\"{(s.Dashed ? " stroke-dasharray=\"4 3\"" : "")}/>"));
            sb.Append(Inv($"<text x=\"{lx + 22:0.##}\" y=\"{ly:0.##}\">{Esc(Truncate(s.Name, 60))}</text>"));
            lx += w;
        }

        sb.Append("</g></svg>");
        return sb.ToString();
    }

    private double LegendHeight()
    {
        // Rough: 16 px per row of about 110 characters.
        int chars = _series.Sum(s => Math.Min(s.Name.Length, 60) + 5);
        return Math.Max(0, (chars / 110) * 16);
    }

    private static string Truncate(string s, int n) => s.Length <= n ? s : s[..(n - 1)] + "…";

    internal static string Esc(string s) => WebUtility.HtmlEncode(s);

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    private sealed record Series(string Name, List<(double X, double Y)> Points, bool Lines, bool Markers, bool Dashed, string Color);

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
            for (double t = Min; t <= Max + step * 1e-9; t += step)
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
