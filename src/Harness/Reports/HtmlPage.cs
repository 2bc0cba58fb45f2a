using System.Globalization;
using System.Text;

namespace Harness.Reports;

/// <summary>
/// The page every HTML view is written into (report, compare, merge, plan): one self-contained file,
/// inline CSS, inline SVG, and at most one short inline script (the run filter); no font, style,
/// image or script from elsewhere, so it opens offline and prints. Views add parts and sections; a
/// section whose data is absent carries a sentence saying so instead of a chart.
/// </summary>
public sealed class HtmlPage
{
    private readonly StringBuilder _body = new();
    private readonly string _title;
    private bool _filter;

    public HtmlPage(string title) => _title = title;

    /// <summary>A paragraph of plain text (escaped).</summary>
    public HtmlPage Paragraph(string text, string? cssClass = null)
    {
        _body.Append(cssClass is null ? "<p>" : $"<p class=\"{cssClass}\">").Append(E(text)).Append("</p>");
        return this;
    }

    /// <summary>What a reader must know before the figures (runs not like for like, disturbed runs); nothing when empty.</summary>
    public HtmlPage Warnings(IReadOnlyList<string> lines, string heading = "Read with care")
    {
        if (lines.Count == 0)
        {
            return this;
        }

        _body.Append("<section class=\"trust\" id=\"trust\"><h2>").Append(E(heading)).Append("</h2><ul>");
        foreach (string line in lines)
        {
            _body.Append("<li>").Append(E(line)).Append("</li>");
        }

        _body.Append("</ul></section>");
        return this;
    }

    /// <summary>A heading over a group of views (LLM, agents, serving...).</summary>
    public HtmlPage Part(string id, string heading, string? intro = null)
    {
        _body.Append(CultureInfo.InvariantCulture, $"<h2 class=\"part\" id=\"part-{E(id)}\">{E(heading)}</h2>");
        if (intro is not null)
        {
            Paragraph(intro, "intro");
        }

        return this;
    }

    /// <summary>
    /// One view: its charts or tables (trusted HTML built by this assembly), or, when
    /// <paramref name="content"/> is null, the sentence <paramref name="absent"/> saying what would produce it.
    /// </summary>
    /// <param name="note">How to read the view (where its numbers come from), under the heading.</param>
    public HtmlPage View(string id, string heading, string? content, string absent, string? note = null)
    {
        _body.Append(CultureInfo.InvariantCulture, $"<section class=\"view\" id=\"{E(id)}\"><h3>{E(heading)}</h3>");
        if (content is not null && note is not null)
        {
            _body.Append("<p class=\"note\">").Append(E(note)).Append("</p>");
        }

        _body.Append(content ?? $"<p class=\"absent\" data-absent=\"{E(id)}\">{E(absent)}</p>");
        _body.Append("</section>");
        return this;
    }

    /// <summary>HTML built by this assembly's views (a table, a verdict banner).</summary>
    public HtmlPage Html(string html)
    {
        _body.Append(html);
        return this;
    }

    /// <summary>
    /// The runs table with the group-by and filter bar: rows carry <c>data-run</c> and the attributes
    /// to group by; every chart mark with the same <c>data-run</c> hides with its row.
    /// </summary>
    public HtmlPage RunTable(IReadOnlyList<string> headers, IEnumerable<(RunKey Run, IReadOnlyList<string> Cells)> rows, bool filterable)
    {
        _filter |= filterable;
        _body.Append("<section class=\"view\" id=\"runs\"><h3>Runs</h3>");
        if (filterable)
        {
            _body.Append("<div class=\"toolbar\">Group by <select id=\"group-by\">")
                .Append(string.Concat(RunKey.GroupKeys.Select(k => $"<option value=\"{k}\">{k}</option>")))
                .Append("</select> show: <span id=\"group-values\"></span></div>");
        }

        _body.Append("<table class=\"runs\"><thead><tr>").Append(string.Concat(headers.Select(h => $"<th>{E(h)}</th>"))).Append("</tr></thead><tbody>");
        foreach ((RunKey run, IReadOnlyList<string> cells) in rows)
        {
            _body.Append(CultureInfo.InvariantCulture, $"<tr data-run=\"{E(run.Id)}\" data-workload=\"{E(run.Workload)}\" data-backend=\"{E(run.Backend)}\" data-machine=\"{E(run.Machine)}\">");
            _body.Append(string.Concat(cells.Select(c => $"<td>{c}</td>"))).Append("</tr>");
        }

        _body.Append("</tbody></table></section>");
        return this;
    }

    /// <summary>A plain table of escaped text; a cell may be marked as a verdict to colour it.</summary>
    public static string Table(IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<string>> rows, string cssClass = "figures")
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"<table class=\"{cssClass}\"><thead><tr>").Append(string.Concat(headers.Select(h => $"<th>{E(h)}</th>"))).Append("</tr></thead><tbody>");
        foreach (IReadOnlyList<string> row in rows)
        {
            sb.Append("<tr>").Append(string.Concat(row.Select(c => $"<td>{E(c)}</td>"))).Append("</tr>");
        }

        return sb.Append("</tbody></table>").ToString();
    }

    public string Render(string footer)
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
        sb.Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
        sb.Append(c, $"<title>Harness report: {E(_title)}</title>");
        sb.Append("<style>")
            .Append("body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px;color:#222;background:#fafafa;max-width:1100px}")
            .Append("h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ccc}h3{font-size:15px;margin:20px 0 6px}")
            .Append("table{border-collapse:collapse;font-size:13px;background:#fff;margin:6px 0}th,td{border:1px solid #ddd;padding:4px 8px;text-align:right}")
            .Append("th:first-child,td:first-child,table.figures td:last-child{text-align:left}tr.group th{background:#eef;text-align:left}")
            .Append(".invalid,.regression{color:#b00020;font-weight:600}.valid,.pass,.improvement{color:#1b7f3a}.inconclusive{color:#a05a00;font-weight:600}")
            .Append("section{margin-bottom:12px}.absent{color:#666;font-style:italic}.note{color:#444;font-size:13px;margin:2px 0 6px}")
            .Append("svg.chart{background:#fff;border:1px solid #ddd;max-width:100%;height:auto;margin:4px 0}")
            .Append(".verdict{font-size:18px;font-weight:700;padding:8px 14px;border:2px solid #888;display:inline-block;background:#fff}")
            .Append(".toolbar{font-size:13px;margin:6px 0}.toolbar label{margin-right:10px}")
            .Append("footer{margin-top:32px;font-size:12px;color:#666}")
            .Append(".trust{border:2px solid #D55E00;background:#fff4ec;padding:8px 14px}.trust li{margin:4px 0}")
            .Append("@media print{body{margin:0;background:#fff}.toolbar{display:none}section.view{break-inside:avoid}}")
            .Append("</style></head><body>");
        sb.Append(c, $"<h1>Harness report: {E(_title)}</h1>");
        sb.Append(_body);
        sb.Append(c, $"<footer>{E(footer)}</footer>");
        if (_filter)
        {
            sb.Append("<script>").Append(FilterScript).Append("</script>");
        }

        sb.Append("</body></html>\n");
        return sb.ToString();
    }

    /// <summary>
    /// Group the runs table by workload, backend or machine, and hide a group's runs (rows and chart
    /// marks with the same data-run) by unticking it. Plain DOM calls; the page works without it.
    /// </summary>
    private const string FilterScript = """
        (function () {
          var table = document.querySelector('table.runs'), by = document.getElementById('group-by'), box = document.getElementById('group-values');
          if (!table || !by) return;
          var body = table.tBodies[0], rows = Array.prototype.slice.call(body.querySelectorAll('tr[data-run]'));
          function apply() {
            var hidden = {};
            box.querySelectorAll('input').forEach(function (c) {
              if (!c.checked) rows.forEach(function (r) { if (r.dataset[by.value] === c.value) hidden[r.dataset.run] = true; });
            });
            document.querySelectorAll('[data-run]').forEach(function (e) { e.style.display = hidden[e.getAttribute('data-run')] ? 'none' : ''; });
          }
          function group() {
            body.querySelectorAll('tr.group').forEach(function (g) { g.remove(); });
            box.textContent = '';
            var values = [];
            rows.forEach(function (r) { if (values.indexOf(r.dataset[by.value]) < 0) values.push(r.dataset[by.value]); });
            values.forEach(function (v) {
              var members = rows.filter(function (r) { return r.dataset[by.value] === v; });
              var head = body.insertRow(-1), th = document.createElement('th');
              head.className = 'group'; th.colSpan = 99; th.textContent = by.value + ': ' + v + ' (' + members.length + ' run' + (members.length > 1 ? 's' : '') + ')';
              head.appendChild(th);
              members.forEach(function (r) { body.appendChild(r); });
              var label = document.createElement('label'), tick = document.createElement('input');
              tick.type = 'checkbox'; tick.checked = true; tick.value = v; tick.onchange = apply;
              label.appendChild(tick); label.appendChild(document.createTextNode(' ' + v)); box.appendChild(label);
            });
            apply();
          }
          by.onchange = group;
          group();
        })();
        """;

    private static string E(string s) => SvgChart.Esc(s);
}

/// <summary>A run as the page's filter knows it: its id and the things a reader groups runs by.</summary>
public sealed record RunKey(string Id, string Workload, string Backend, string Machine)
{
    public static readonly IReadOnlyList<string> GroupKeys = ["workload", "backend", "machine"];
}
