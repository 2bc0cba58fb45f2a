using System.Text.Json;
using Harness.Results;

namespace Harness.Fleet;

/// <summary>Whether a fleet runs one task per node or one per GPU.</summary>
public enum TaskGranularity
{
    /// <summary>One task per node, holding the whole node (and all its GPUs, if any).</summary>
    Node,

    /// <summary>One task per GPU, each holding one GPU; finds a weak card, not only a weak node.</summary>
    Gpu,
}

/// <summary>
/// fleet.json: what was submitted, so that status and collect can follow the job and merge knows
/// how many tasks to expect. Written once, atomically, after the scheduler accepted the job.
/// </summary>
public sealed class FleetManifest
{
    public const int CurrentSchemaVersion = 1;

    public int SchemaVersion { get; set; } = CurrentSchemaVersion;

    /// <summary>"slurm" (Kubernetes jobs are applied by kubectl and leave no manifest here).</summary>
    public string Scheduler { get; set; } = "slurm";

    public string JobId { get; set; } = "";

    public string JobName { get; set; } = "";

    /// <summary>Array tasks submitted: nodes, or nodes x GPUs per node.</summary>
    public int Tasks { get; set; }

    public TaskGranularity Per { get; set; }

    public int Nodes { get; set; }

    public int? GpusPerNode { get; set; }

    public string? Partition { get; set; }

    public string? TimeLimit { get; set; }

    public DateTime SubmittedUtc { get; set; }

    public List<string> HarnessCommand { get; set; } = [];

    public List<string> RunArguments { get; set; } = [];

    public void Write(string path) => AtomicFile.WriteAllText(path, JsonSerializer.Serialize(this, ResultJson.Options));

    /// <summary>The manifest in a results folder, or null when it has none; a manifest of a newer schema or not a manifest is bad input.</summary>
    public static FleetManifest? TryRead(FleetLayout layout)
    {
        string path = layout.ManifestPath;
        if (!File.Exists(path))
        {
            return null;
        }

        return HarnessDocument.Read<FleetManifest>(path, DocumentKind.FleetManifest);
    }
}
