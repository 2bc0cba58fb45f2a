using System.Globalization;
using System.Text;
using Harness.Formatting;
using Harness.Metrics;
using static System.FormattableString;
using static Harness.Formatting.MarkdownColumn;

namespace Harness.Cost;

/// <summary>The Markdown view of a result's cost under one or more offers.</summary>
public static class CostReport
{
    public static string Markdown(string origin, string? runCard, IReadOnlyList<CostLine> lines, IReadOnlyList<PriceOffer> stale)
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        CostLine? first = lines.FirstOrDefault();
        string unit = first?.Unit ?? "tokens";
        sb.Append(c, $"### Cost of {origin} ({first?.UnitsPerSecond:#,0.##} {unit}/s measured on {runCard ?? "an unknown card"})\n\n");
        string perM = unit == "tokens" ? "$/Mtok" : $"$/M {unit}";
        bool jobs = lines.Any(l => l.UsdPerJob is not null);
        var table = new MarkdownTable(
            new[] { Left("offer"), Left("card"), Left("pricing"), Right("price"), Left("date"), Left("charged"), Right("$/h"), Right(perM) }
                .Concat(jobs ? new[] { Right("$/job") } : []));
        foreach (CostLine l in lines)
        {
            PriceOffer o = l.Offer;
            string[] cells = [o.Id, o.Device ?? "-", Invariant($"{o.Pricing}"), Invariant($"{o.Price.Usd:0.####} {o.Price.Unit}"),
                Invariant($"{o.Price.Date:yyyy-MM-dd}"), Invariant($"{l.Charge.Basis}"), Invariant($"{l.Charge.UsdPerHour:0.####}"),
                Invariant($"{l.UsdPerMillion:0.####}")];
            table.Row(jobs ? [.. cells, Invariant($"{l.UsdPerJob:0.######}")] : cells);
        }

        table.AppendTo(sb);

        var other = lines.Where(l => l.Offer.Device is not null && runCard is not null && !string.Equals(l.Offer.Device, runCard, StringComparison.OrdinalIgnoreCase)).ToList();
        if (other.Count > 0)
        {
            sb.Append(c, $"\nRows for cards other than {runCard} assume the measured throughput; use 'harness project' for their own.\n");
        }

        if (stale.Count > 0)
        {
            sb.Append(c, $"\nLeft out, price older than the cutoff: {string.Join(", ", stale.Select(s => $"{s.Id} ({s.Price.Date:yyyy-MM-dd})"))}.\n");
        }

        return sb.ToString();
    }

    /// <summary>The line that says a cost is on the price the result was priced with when it ran, and which price.</summary>
    public static string RecordedLine(CostLine line)
    {
        PriceOffer o = line.Offer;
        return string.Create(
            CultureInfo.InvariantCulture,
            $"Priced with the result's own price (config.price, set when it ran): {o.Id}, {o.Price}, "
            + $"charged {line.Charge.UsdPerHour:0.####} $/h ({line.Charge.Basis}); --instance, --price or --all for others.\n\n");
    }

    /// <summary>One line for the end of <c>harness run</c>; null when the result carries no cost.</summary>
    public static string? RunLine(Harness.Results.ResultDocument doc)
    {
        if (doc.Metrics.Value(MetricCatalog.UsdPerHour) is not { } perHour
            || ResultCost.Throughput(doc) is not { } t
            || doc.Metrics.Value(MetricCatalog.CostPerMillion(t.Unit)) is not { } perMillion)
        {
            return null;
        }

        string perM = t.Unit == "tokens" ? "$/Mtok" : $"$ per 1M {t.Unit}";
        string perJob = doc.Metrics.Value(MetricCatalog.UsdPerJob) is { } job ? string.Create(CultureInfo.InvariantCulture, $", {job:0.######} $/job") : "";
        return string.Create(CultureInfo.InvariantCulture, $"Cost: {perMillion:0.####} {perM}{perJob} at {perHour:0.####} $/h.");
    }
}
