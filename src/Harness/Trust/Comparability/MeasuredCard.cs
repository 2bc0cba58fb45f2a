using System.Globalization;
using Harness.Hardware;
using Harness.Hardware.Catalog;
using Harness.Results;

namespace Harness.Trust.Comparability;

/// <summary>
/// What <c>project</c> and <c>plan</c> say about the card they start from: taken from the result's
/// hardware fingerprint (NVML's GPU name, else the CPU), with what the fingerprint recorded. A card
/// named with <c>--from</c> wins, and a disagreement with the fingerprint is said; a published
/// throughput figure has no fingerprint to check against, and that is said too.
/// </summary>
public static class MeasuredCard
{
    /// <param name="card">The card the projection or plan starts from (already chosen).</param>
    /// <param name="path">The input: a result file, or a published figure.</param>
    /// <param name="named">The <c>--from</c> value, when given.</param>
    public static string Statement(HardwareCatalog catalog, HardwareSpec card, string path, string? named)
    {
        if (!ResultReader.TryRead(path, out LoadedResult? result, out _))
        {
            string how = named is null ? "as the published figure names it" : "named by --from";
            return $"Measured card: {card.Name} ({card.Id}), {how}; a published figure carries no hardware fingerprint to check it against.";
        }

        HardwareFingerprint? hardware = result!.Document.Hardware;
        string seen = Seen(hardware);
        if (named is null)
        {
            return $"Measured card: {card.Name} ({card.Id}), from the result's hardware fingerprint ({seen}).";
        }

        HardwareSpec? match = catalog.Match(hardware);
        string agreement = match is null ? "which the catalog does not match"
            : match.Id == card.Id ? "which agrees"
            : $"which matches {match.Name} ({match.Id}), NOT the card named: the projection starts from a card the run did not use";
        return $"Measured card: {card.Name} ({card.Id}), named by --from; the result's fingerprint records {seen}, {agreement}.";
    }

    private static string Seen(HardwareFingerprint? hw)
    {
        if (hw is null)
        {
            return "no hardware section";
        }

        if (hw.Gpus.Count > 0)
        {
            GpuInfo g = hw.Gpus[0];
            string limit = g.PowerLimitW is { } w ? string.Create(CultureInfo.InvariantCulture, $", power limit {w:0} W") : "";
            string count = hw.Gpus.Count > 1 ? $" (first of {hw.Gpus.Count})" : "";
            return $"GPU {g.Index}: {g.Name}{count}, driver {g.Driver}{limit}";
        }

        return ComparabilityRule.Describe(hw);
    }
}
