using System.Globalization;

namespace Harness.Trust.Noise;

/// <summary>
/// How much a metric moves from run to run with nothing changed: the standard deviation of the
/// log of its per-run value (about the coefficient of variation when small), with its degrees of
/// freedom and where it was measured. The gate needs it to judge one run against another: a run's
/// own interval says nothing about the next run's (issue 19: runs of minilm varied 8% while each
/// run's interval was 0.5% wide).
/// </summary>
/// <param name="Sigma">Standard deviation of ln(value) between runs.</param>
/// <param name="Df">Degrees of freedom of <paramref name="Sigma"/>: runs minus groups.</param>
/// <param name="Source">Where it was measured, in words: "the base side's 5 runs", "a history of 30 runs".</param>
public sealed record NoiseModel(double Sigma, int Df, string Source)
{
    /// <summary>The fewest degrees of freedom a measured spread needs before a verdict leans on it.</summary>
    public const int MinimumDf = 2;

    /// <summary>Coefficient of variation of the value (log-normal: sqrt(exp(sigma^2) - 1)).</summary>
    public double Cv => Math.Sqrt(Math.Exp(Sigma * Sigma) - 1);

    /// <summary>A noise model assumed, not measured: used only to say how many runs would resolve a change.</summary>
    public bool Assumed { get; init; }

    public static NoiseModel AssumedCv(double cv) =>
        new(Math.Sqrt(Math.Log(1 + cv * cv)), int.MaxValue, string.Create(CultureInfo.InvariantCulture, $"an assumed run-to-run CV of {cv:0.#%} (--plan-cv)")) { Assumed = true };

    /// <summary>
    /// The pooled spread of several groups of runs, each group around its own mean (a base side, a
    /// current side, a history): sum of squared deviations over the sum of (runs - 1). Null when
    /// that leaves fewer than <see cref="MinimumDf"/> degrees of freedom.
    /// </summary>
    public static NoiseModel? Pooled(IEnumerable<IReadOnlyList<double>> logGroups, string source)
    {
        double squares = 0;
        int df = 0;
        foreach (IReadOnlyList<double> g in logGroups)
        {
            if (g.Count < 2)
            {
                continue;
            }

            double mean = g.Average();
            squares += g.Sum(v => (v - mean) * (v - mean));
            df += g.Count - 1;
        }

        return df >= MinimumDf ? new NoiseModel(Math.Sqrt(squares / df), df, source) : null;
    }

    public string Describe() => Assumed
        ? Source
        : string.Create(CultureInfo.InvariantCulture, $"run-to-run CV {Cv:0.0%} from {Source} ({Df} degrees of freedom)");
}
