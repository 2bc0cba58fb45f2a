using Harness.Running;

namespace Harness.Gate;

/// <summary>What an A/B job does: how many rounds, whether to confirm a failing verdict, and the gate's rule.</summary>
/// <param name="Rounds">Runs per side; rounds alternate their order (AB, BA, AB...) to cancel drift.</param>
/// <param name="ConfirmByRerun">On a regression, run as many rounds again and fail only if the rerun regresses too.</param>
public sealed record AbOptions(int Rounds, bool ConfirmByRerun, GateOptions Gate);

/// <summary>The verdicts of an A/B job: the first comparison, and the confirming one when it ran.</summary>
public sealed record AbOutcome(GateReport First, GateReport? Confirmation, string Folder)
{
    /// <summary>The verdict that counts: the confirmation's when there was one (a regression must repeat to fail).</summary>
    public GateReport Final => Confirmation ?? First;

    public int ExitCode => Final.ExitCode;
}

/// <summary>
/// Two configurations measured in one job, interleaved round by round, then gated: same-job
/// interleaving is what keeps a shared CI runner's drift out of the comparison (0.3% spread within a
/// job against 26% across runner VMs, ../shared/research/reliability.md §2.8). A is the base, B the
/// candidate. With <see cref="AbOptions.ConfirmByRerun"/>, a regression has to show again on a fresh
/// set of rounds before the job fails, which squares the false-alarm rate.
/// </summary>
public static class AbTest
{
    public static AbOutcome Run(RunRequest a, RunRequest b, AbOptions options, string folder, Func<RunRequest, RunOutcome> run)
    {
        if (options.Rounds < 1)
        {
            throw HarnessException.BadInput("--rounds must be at least 1.");
        }

        if (!string.Equals(a.Workload, b.Workload, StringComparison.Ordinal))
        {
            throw HarnessException.BadInput($"A runs workload '{a.Workload}' and B runs '{b.Workload}'; an A/B job compares two configurations of the same workload.");
        }

        // The two sides differ in their settings by design: the views name them as what was compared.
        GateOptions gate = options.Gate.Validated() with { ComparingConfigurations = true };
        GateReport first = Rounds(a, b, options.Rounds, folder, "", gate, run);
        GateReport? confirmation = null;
        if (options.ConfirmByRerun && first.Verdict == GateVerdict.Regression)
        {
            confirmation = Rounds(a, b, options.Rounds, folder, "-confirm", gate, run);
        }

        return new AbOutcome(first, confirmation, folder);
    }

    private static GateReport Rounds(RunRequest a, RunRequest b, int rounds, string folder, string suffix, GateOptions gate, Func<RunRequest, RunOutcome> run)
    {
        var sideA = new SweepSession(a, "ab", Path.Combine(folder, "a" + suffix), run);
        var sideB = new SweepSession(b, "ab", Path.Combine(folder, "b" + suffix), run);
        for (int round = 1; round <= rounds; round++)
        {
            string label = $"round-{round:00}";
            // Alternate who goes first, so a machine that warms up or throttles over the job favours neither.
            (SweepSession first, RunRequest firstRequest, SweepSession second, RunRequest secondRequest) =
                round % 2 == 1 ? (sideA, a, sideB, b) : (sideB, b, sideA, a);
            first.Run(label, firstRequest.Settings.Scenario);
            if (!first.Cancelled)
            {
                second.Run(label, secondRequest.Settings.Scenario);
            }

            if (sideA.Cancelled || sideB.Cancelled)
            {
                sideA.Complete();
                sideB.Complete();
                throw new HarnessException($"The A/B job was cancelled in round {round}; the results so far are in {folder}.", ExitCodes.Invalid);
            }
        }

        sideA.Complete();
        sideB.Complete();
        return RegressionGate.Compare(
            sideA.Runs.Select(r => r.Document).ToList(), sideB.Runs.Select(r => r.Document).ToList(), gate,
            sideA.Runs.Select(r => r.Path).ToList(), sideB.Runs.Select(r => r.Path).ToList());
    }
}
