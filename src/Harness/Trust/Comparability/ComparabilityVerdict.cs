namespace Harness.Trust.Comparability;

/// <summary>Whether runs can be compared like for like: every difference found, and what could not be checked.</summary>
public sealed class ComparabilityVerdict(IReadOnlyList<FingerprintDifference> differences, IReadOnlyList<string> notChecked)
{
    public IReadOnlyList<FingerprintDifference> Differences { get; } = differences;

    /// <summary>Sentences about what could not be compared (a run without a hardware section).</summary>
    public IReadOnlyList<string> Unchecked { get; } = notChecked;

    public IReadOnlyList<FingerprintDifference> SpeedMoving => Differences.Where(d => d.MovesSpeed).ToList();

    public IReadOnlyList<FingerprintDifference> Harmless => Differences.Where(d => !d.MovesSpeed).ToList();

    public bool LikeForLike => SpeedMoving.Count == 0;

    /// <summary>The differences the given flags do not allow.</summary>
    public IReadOnlyList<FingerprintDifference> Refused(bool allowHardware, bool allowConfig) =>
        SpeedMoving.Where(d => d.Area switch
        {
            DifferenceArea.Hardware or DifferenceArea.Runtime => !allowHardware,
            DifferenceArea.Workload => !allowConfig,
            _ => false,
        }).ToList();

    /// <summary>Throws bad input (exit 2) listing each difference the flags do not allow, and the flag that would.</summary>
    public void ThrowUnlessAllowed(bool allowHardware, bool allowConfig)
    {
        IReadOnlyList<FingerprintDifference> refused = Refused(allowHardware, allowConfig);
        if (refused.Count == 0)
        {
            return;
        }

        string flags = string.Join(" and ", refused.Select(d => d.AllowedBy).Distinct());
        throw HarnessException.BadInput(
            $"The runs cannot be compared like for like: they differ in what moves speed: {string.Join("; ", refused.Select(d => d.ToString()))} ({refused[0].Where}); "
            + $"compare them anyway with {flags}, and every view will say so.");
    }

    /// <summary>
    /// The lines every view puts at its top when speed-moving differences were allowed, then the
    /// harmless ones; empty when the runs are like for like and nothing differs.
    /// </summary>
    /// <param name="configIsTheQuestion">An A/B job: the settings differ by design, and are named as what was compared.</param>
    public IReadOnlyList<string> Statement(bool configIsTheQuestion = false)
    {
        var lines = new List<string>();
        IReadOnlyList<FingerprintDifference> compared = configIsTheQuestion ? SpeedMoving.Where(d => d.Area == DifferenceArea.Workload).ToList() : [];
        if (compared.Count > 0)
        {
            lines.Add("Configurations compared: " + string.Join("; ", compared.Select(d => d.ToString())) + ".");
        }

        IReadOnlyList<FingerprintDifference> speedMoving = SpeedMoving.Except(compared).ToList();
        if (speedMoving.Count > 0)
        {
            string flags = string.Join(" and ", speedMoving.Select(d => d.AllowedBy).Distinct());
            lines.Add($"NOT LIKE FOR LIKE (allowed by {flags}): the runs differ in what moves speed, so a change may come from the machine or settings, not the code: "
                + string.Join("; ", speedMoving.Select(d => d.ToString())) + ".");
        }

        if (Harmless.Count > 0)
        {
            lines.Add("Harmless differences: " + string.Join("; ", Harmless.Select(d => d.ToString())) + ".");
        }

        lines.AddRange(Unchecked.Select(u => char.ToUpperInvariant(u[0]) + u[1..] + "."));
        return lines;
    }
}
