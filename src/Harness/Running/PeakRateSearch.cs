namespace Harness.Running;

/// <summary>
/// The highest arrival rate that meets the SLO, found as MLPerf LoadGen's FindPeakPerformance does:
/// bracket the peak (double the rate while it passes, halve it while it fails), then bisect the
/// bracket until it is narrower than the relative precision or the run budget is spent. Pure: the
/// caller's delegate runs (or, in tests, simulates) each rate.
/// </summary>
public static class PeakRateSearch
{
    /// <param name="Rate">The rate tried.</param>
    /// <param name="Passed">Whether it met the SLO (and every other validity condition).</param>
    public sealed record Evaluation(double Rate, bool Passed);

    /// <param name="Peak">Highest passing rate; null when even the lowest rate tried failed.</param>
    /// <param name="LowestFailing">Lowest failing rate above the peak; null when no failure was reached.</param>
    /// <param name="Converged">The bracket closed to the precision within the budget.</param>
    public sealed record Result(double? Peak, double? LowestFailing, bool Converged, IReadOnlyList<Evaluation> Evaluations);

    /// <param name="start">First rate to try (the scenario's poisson:RATE).</param>
    /// <param name="meets">Runs the given rate; true when the result is valid and within its SLO.</param>
    /// <param name="precision">Stop once (failing - passing) / passing is at most this, e.g. 0.05.</param>
    /// <param name="maxRuns">Run budget, brackets and bisection together.</param>
    public static Result Find(double start, Func<double, bool> meets, double precision = 0.05, int maxRuns = 12)
    {
        if (!(start > 0))
        {
            throw new ArgumentOutOfRangeException(nameof(start), start, "start rate must be positive");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(maxRuns, 2);
        var evaluations = new List<Evaluation>();
        bool Try(double rate)
        {
            bool ok = meets(rate);
            evaluations.Add(new Evaluation(rate, ok));
            return ok;
        }

        double? pass = null, fail = null;
        double r = start;
        if (Try(r))
        {
            pass = r;
            while (evaluations.Count < maxRuns)
            {
                r *= 2;
                if (Try(r))
                {
                    pass = r;
                }
                else
                {
                    fail = r;
                    break;
                }
            }
        }
        else
        {
            fail = r;
            while (evaluations.Count < maxRuns)
            {
                r /= 2;
                if (Try(r))
                {
                    pass = r;
                    break;
                }

                fail = r;
            }
        }

        if (pass is null || fail is null)
        {
            return new Result(pass, fail, false, evaluations);
        }

        while ((fail.Value - pass.Value) / pass.Value > precision && evaluations.Count < maxRuns)
        {
            double mid = (pass.Value + fail.Value) / 2;
            if (Try(mid))
            {
                pass = mid;
            }
            else
            {
                fail = mid;
            }
        }

        return new Result(pass, fail, (fail.Value - pass.Value) / pass.Value <= precision, evaluations);
    }
}
