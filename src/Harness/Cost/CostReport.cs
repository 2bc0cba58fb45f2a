using System.Globalization;
using System.Text;
using Harness.Metrics;

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
        sb.Append(c, $"| offer | card | pricing | price | date | charged | $/h | {perM} |{(jobs ? " $/job |" : "")}\n|---|---|---|---:|---|---|---:|---:|{(jobs ? "---:|" : "")}\n");
        foreach (CostLine l in lines)
        {
            PriceOffer o = l.Offer;
            sb.Append(c, $"| {o.Id} | {o.Device ?? "-"} | {o.Pricing} | {o.Price.Usd:0.####} {o.Price.Unit} | {o.Price.Date:yyyy-MM-dd} | {l.Charge.Basis} | {l.Charge.UsdPerHour:0.####} | {l.UsdPerMillion:0.####} |");
            sb.Append(jobs ? string.Create(c, $" {l.UsdPerJob:0.######} |\n") : "\n");
        }

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
