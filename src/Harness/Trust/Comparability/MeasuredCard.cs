using System.Globalization;
using Harness.Hardware;
using Harness.Hardware.Catalog;

namespace Harness.Trust.Comparability;

/// <summary>
/// The card a result was measured on, for <c>project</c> and <c>plan</c>: taken from the result's
/// hardware fingerprint (NVML's GPU name, else the CPU), and said so, with what the fingerprint
/// recorded. A card named with <c>--from</c> wins, and a disagreement with the fingerprint is said too.
/// </summary>
public static class MeasuredCard
{
    public static (HardwareSpec Card, string Statement) Resolve(HardwareCatalog catalog, HardwareFingerprint? hardware, string? named, string origin)
    {
        HardwareSpec card = catalog.ForRun(hardware, named, origin);
        string seen = Seen(hardware);
        if (named is null)
        {
            return (card, $"Measured card: {card.Name} ({card.Id}), from the result's hardware fingerprint ({seen}).");
        }

        HardwareSpec? match = catalog.Match(hardware);
        string agreement = match is null ? "which the catalog does not match"
            : match.Id == card.Id ? "which agrees"
            : $"which matches {match.Name} ({match.Id}), NOT the card named: the projection starts from a card the run did not use";
        return (card, $"Measured card: {card.Name} ({card.Id}), named by --from; the result's fingerprint records {seen}, {agreement}.");
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
