using System.Globalization;
using Harness.Hardware.Catalog;

namespace Harness.Projection;

/// <summary>
/// How one replica of the model is spread over GPUs. Each pipeline stage spans <see cref="Width"/> =
/// max(TP, EP) GPUs inside one scale-up domain: attention and dense layers are tensor-parallel over TP
/// GPUs (replicated over Width / TP data-parallel groups when EP is wider), routed experts are split
/// EP ways (or TP ways when EP is 1). <see cref="Pp"/> stages hold the layers in turn; they span
/// domains when the replica does not fit one.
/// </summary>
public sealed record Parallelism(int Tp, int Ep = 1, int Pp = 1)
{
    public static Parallelism Tensor(int tp) => new(tp);

    /// <summary>GPUs of one pipeline stage.</summary>
    public int Width => Math.Max(Tp, Ep);

    /// <summary>GPUs of one replica.</summary>
    public int Gpus => Width * Pp;

    /// <summary>Ways the routed experts are split: EP where set, else TP.</summary>
    public int ExpertShards => Ep > 1 ? Ep : Tp;

    public string Label => Pp > 1 || Ep > 1
        ? string.Create(CultureInfo.InvariantCulture, $"TP{Tp} EP{Ep} PP{Pp}")
        : string.Create(CultureInfo.InvariantCulture, $"TP{Tp}");

    /// <summary>Whether the whole replica sits in one scale-up domain of the card.</summary>
    public bool InOneDomain(HardwareSpec card) => Gpus <= Math.Max(1, card.DomainGpus);

    /// <summary>Refuses a layout the card or the model cannot take, in one sentence.</summary>
    public void Check(HardwareSpec card, bool mixtureOfExperts)
    {
        int domain = Math.Max(1, card.DomainGpus);
        if (Tp < 1 || Ep < 1 || Pp < 1)
        {
            throw HarnessException.BadInput($"TP, EP and PP must be at least 1 (got {Label}).");
        }

        if (Ep > 1 && !mixtureOfExperts)
        {
            throw HarnessException.BadInput($"--ep {Ep} needs a mixture-of-experts model; this one is dense.");
        }

        if (Ep > 1 && Ep % Tp != 0)
        {
            throw HarnessException.BadInput(
                $"--ep {Ep} must be a multiple of --tp {Tp}: the experts of a stage are split over its TP groups.");
        }

        if (Width > domain)
        {
            throw HarnessException.BadInput(
                $"{Label} spans {Width} GPUs per stage, more than the {domain} GPUs in one "
                + $"{card.ScaleUp?.Name ?? "scale-up"} domain of {card.Id}.");
        }
    }
}
