using System.Text.RegularExpressions;

namespace Harness.Fleet.Slurm;

/// <summary>
/// An sbatch array job for a fleet run, validated: every value that lands on an #SBATCH line is
/// checked here, because Slurm reads those lines itself and a space or newline would change them.
/// </summary>
public sealed partial record SlurmJobSpec
{
    public required int Nodes { get; init; }

    /// <summary>GPUs per node; null for CPU-only nodes.</summary>
    public int? GpusPerNode { get; init; }

    public TaskGranularity Per { get; init; } = TaskGranularity.Node;

    public string? Partition { get; init; }

    /// <summary>Slurm's time limit per task (minutes, MM:SS, HH:MM:SS, D-HH...).</summary>
    public string? TimeLimit { get; init; }

    public string JobName { get; init; } = "harness-fleet";

    /// <summary>Absolute path of the results folder, on a filesystem every node shares.</summary>
    public required string ResultsDir { get; init; }

    public required FleetCommandLine Command { get; init; }

    public int Tasks => Per == TaskGranularity.Gpu ? Nodes * (GpusPerNode ?? 1) : Nodes;

    /// <summary>Throws <see cref="HarnessException"/> (bad input) with the first problem found.</summary>
    public SlurmJobSpec Validate()
    {
        if (Nodes < 1)
        {
            throw HarnessException.BadInput($"--nodes must be at least 1, got {Nodes}.");
        }

        if (GpusPerNode is < 1)
        {
            throw HarnessException.BadInput($"--gpus-per-node must be at least 1, got {GpusPerNode}.");
        }

        if (Per == TaskGranularity.Gpu && GpusPerNode is null)
        {
            throw HarnessException.BadInput("--per gpu needs --gpus-per-node.");
        }

        if (Partition is not null && !PartitionPattern().IsMatch(Partition))
        {
            throw HarnessException.BadInput($"--partition '{Partition}' is not a Slurm partition name (letters, digits, '_', '-', '.', comma-separated).");
        }

        if (TimeLimit is not null && !TimePattern().IsMatch(TimeLimit))
        {
            throw HarnessException.BadInput($"--time '{TimeLimit}' is not a Slurm time limit; use minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS.");
        }

        if (!JobNamePattern().IsMatch(JobName))
        {
            throw HarnessException.BadInput($"--job-name '{JobName}' may hold only letters, digits, '_', '-' and '.'.");
        }

        if (!Path.IsPathFullyQualified(ResultsDir))
        {
            throw HarnessException.BadInput($"The results folder '{ResultsDir}' must be an absolute path: the tasks run elsewhere.");
        }

        if (ResultsDir.Any(c => char.IsWhiteSpace(c) || char.IsControl(c) || c is '%' or '"' or '\'' or '\\'))
        {
            throw HarnessException.BadInput($"The results folder '{ResultsDir}' has a space, quote, backslash or '%' in it, which an #SBATCH --output line cannot carry; choose a plain path.");
        }

        return this;
    }

    [GeneratedRegex(@"^[A-Za-z0-9_.\-]+(,[A-Za-z0-9_.\-]+)*$")]
    private static partial Regex PartitionPattern();

    [GeneratedRegex(@"^(\d+|\d+:\d{1,2}|\d+:\d{1,2}:\d{1,2}|\d+-\d+|\d+-\d+:\d{1,2}|\d+-\d+:\d{1,2}:\d{1,2}|UNLIMITED|INFINITE)$", RegexOptions.IgnoreCase)]
    private static partial Regex TimePattern();

    [GeneratedRegex(@"^[A-Za-z0-9_.\-]{1,64}$")]
    private static partial Regex JobNamePattern();
}
