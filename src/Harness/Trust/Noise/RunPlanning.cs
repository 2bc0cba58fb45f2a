using Harness.Measurement;

namespace Harness.Trust.Noise;

/// <summary>
/// Power and budget of a run-level comparison. A regression needs the one-sided test to reject at
/// alpha AND the estimated change to pass the threshold, so a true change Delta (on the log scale,
/// standard error SE = sigma x sqrt(1/n + 1/m)) is found with probability about
/// Phi((Delta - max(t_alpha x SE, ln(1 + threshold))) / SE). Student's t quantiles with the noise
/// model's degrees of freedom. Rank tests (Mann-Whitney with the Hodges-Lehmann estimate) are
/// planned with 0.864, the lowest efficiency they have against the t-test over any distribution
/// (Hodges and Lehmann, 1956), so that a plan errs on more runs: at five to ten runs the exact test's
/// discrete levels and the estimate's finite-sample spread cost more than the asymptotic 3/pi says.
/// </summary>
public static class RunPlanning
{
    public const double DefaultPower = 0.8;

    /// <summary>Most runs per side a plan proposes; beyond, it says the change cannot be resolved in a sensible budget.</summary>
    public const int MaxRunsPerSide = 200;

    private const double RankEfficiency = 0.864;

    /// <summary>
    /// The smallest relative change (percent) that <paramref name="n"/> and <paramref name="m"/> runs
    /// find with probability <paramref name="power"/> at <paramref name="alpha"/>, given the threshold.
    /// </summary>
    public static double SmallestDetectablePct(NoiseModel noise, int n, int m, double alpha, double thresholdPct, double power = DefaultPower, bool ranks = false)
    {
        double eff = ranks ? RankEfficiency : 1;
        return Detectable(noise, noise.Sigma * Math.Sqrt((1.0 / n + 1.0 / m) / eff), alpha, thresholdPct, power);
    }

    /// <summary>
    /// The smallest change a duet finds with <paramref name="pairs"/> pairs, each pair's log ratio one
    /// observation of spread sigma (a one-sample t-test: SE = sigma / sqrt(pairs)).
    /// </summary>
    public static double SmallestDetectablePairedPct(NoiseModel noise, int pairs, double alpha, double thresholdPct,
        double power = DefaultPower) =>
        Detectable(noise, noise.Sigma / Math.Sqrt(pairs), alpha, thresholdPct, power);

    /// <summary>Duet pairs that find a true change of <paramref name="changePct"/>; null as for <see cref="RunsPerSide"/>.</summary>
    public static int? PairsNeeded(NoiseModel noise, double changePct, double alpha, double thresholdPct, double power = DefaultPower)
    {
        if (Math.Abs(changePct) <= thresholdPct)
        {
            return null;
        }

        for (int n = 2; n <= MaxRunsPerSide; n++)
        {
            NoiseModel model = noise.Assumed ? noise with { Df = n - 1 } : noise;
            if (SmallestDetectablePairedPct(model, n, alpha, thresholdPct, power) <= Math.Abs(changePct))
            {
                return n;
            }
        }

        return null;
    }

    private static double Detectable(NoiseModel noise, double se, double alpha, double thresholdPct, double power)
    {
        double df = Math.Min(noise.Df, 1e7);
        double tAlpha = Statistics.StudentTQuantile(1 - alpha, df);
        double tPower = Statistics.StudentTQuantile(power, df);
        double delta = Math.Max((tAlpha + tPower) * se, Math.Log(1 + thresholdPct / 100) + tPower * se);
        return (Math.Exp(delta) - 1) * 100;
    }

    /// <summary>
    /// Runs per side (equal sides) that find a true change of <paramref name="changePct"/> with
    /// probability <paramref name="power"/>; null when the change is within the threshold (never a
    /// regression, however many runs) or needs more than <see cref="MaxRunsPerSide"/>.
    /// </summary>
    public static int? RunsPerSide(NoiseModel noise, double changePct, double alpha, double thresholdPct, double power = DefaultPower, bool ranks = false)
    {
        if (Math.Abs(changePct) <= thresholdPct)
        {
            return null;
        }

        for (int n = 2; n <= MaxRunsPerSide; n++)
        {
            // With a measured model the degrees of freedom are its own; an assumed one has those of the runs.
            NoiseModel model = noise.Assumed ? noise with { Df = 2 * n - 2 } : noise;
            if (SmallestDetectablePct(model, n, n, alpha, thresholdPct, power, ranks) <= Math.Abs(changePct))
            {
                return n;
            }
        }

        return null;
    }
}
