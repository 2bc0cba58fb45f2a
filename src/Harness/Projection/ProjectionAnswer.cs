using System.Globalization;
using Harness.Hardware.Catalog;

namespace Harness.Projection;

/// <summary>
/// The two speeds a projection can give. "decoder": this harness's decoder on the target, the run's
/// host overhead per step carried over (scaled by the model's layers). "engine": a production engine
/// on the target, device time only (CUDA graphs and overlapped scheduling hide the host overhead)
/// plus a residual per step, measured where the run is itself a CUDA-graph run (or a published
/// production-engine figure), else assumed (<see cref="ProjectionPriors.EngineResidualMs"/>).
/// </summary>
public static class ProjectionAnswers
{
    public const string Decoder = "decoder";

    public const string Engine = "engine";

    public static readonly IReadOnlyList<string> Names = [Decoder, Engine];

    /// <summary>
    /// The answer asked for, or by default: the decoder on the measured card (a check of the run), the engine on another card.
    /// </summary>
    public static string Choose(string? requested, HardwareSpec source, HardwareSpec target)
    {
        if (requested is null)
        {
            return source.Id == target.Id ? Decoder : Engine;
        }

        string name = requested.Trim().ToLowerInvariant();
        return Names.Contains(name)
            ? name
            : throw HarnessException.BadInput(
                $"--answer '{requested}' is neither {Decoder} (this harness's decoder) nor {Engine} (a production engine).");
    }

    /// <summary>What the answer is, in words, on the target card.</summary>
    public static string Label(string answer, string card) =>
        answer == Engine ? $"a production engine on {card}" : $"this harness's decoder on {card}";
}

/// <summary>
/// Which of the two answers a projection gives (<see cref="ProjectionAnswers"/>); for the engine, the
/// residual per decode step added to device time and whether it was measured or assumed.
/// </summary>
public sealed record ProjectionAnswer(
    string Name,
    string Label,
    string Rule,
    double? ResidualMsPerStep = null,
    string? ResidualSource = null,
    string? ResidualBasis = null)
{
    public static ProjectionAnswer Of(string name, string card, double residualMs, string residualSource, string residualBasis)
    {
        string label = ProjectionAnswers.Label(name, card);
        if (name == ProjectionAnswers.Decoder)
        {
            return new ProjectionAnswer(name, label,
                "the run's host overhead per step is carried onto the target (scaled by the model's layers), "
                + "overlapped and serial with the GPU work");
        }

        string ms = residualMs.ToString("0.###", CultureInfo.InvariantCulture);
        return new ProjectionAnswer(name, label,
            "device time only: the host overhead is hidden (CUDA graphs, overlapped scheduling); "
                + $"each pass adds a residual of {ms} ms ({residualSource})",
            residualMs, residualSource, residualBasis);
    }
}
