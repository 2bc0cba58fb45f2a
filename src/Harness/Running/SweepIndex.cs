using Harness.Results;

namespace Harness.Running;

/// <summary>
/// The index of a multi-run job (a sweep, repeated runs, an SLO search, an A/B side), rewritten
/// atomically after every point so that a job stopped half-way still lists every finished point.
/// Lives beside the point files as <see cref="ResultReader.SweepIndexFileName"/>.
/// </summary>
public sealed class SweepIndex
{
    public int SchemaVersion { get; set; } = ResultDocument.CurrentSchemaVersion;

    /// <summary>rate | concurrency | repeat | slo_search | ab.</summary>
    public string Kind { get; set; } = "";

    public string Workload { get; set; } = "";

    public string Backend { get; set; } = "";

    public DateTime StartedUtc { get; set; }

    /// <summary>running | complete | cancelled.</summary>
    public string Status { get; set; } = "running";

    public List<string>? Slo { get; set; }

    public List<SweepIndexEntry> Points { get; set; } = [];

    /// <summary>Only for an SLO search: what it found.</summary>
    public PeakSearchSummary? Search { get; set; }

    /// <summary>
    /// Reads the index a multi-run job wrote into <paramref name="folder"/>, through the one reader of
    /// harness documents (kind and schema version checked).
    /// </summary>
    public static SweepIndex Read(string folder)
    {
        string path = Path.Combine(folder, ResultReader.SweepIndexFileName);
        if (!File.Exists(path))
        {
            throw HarnessException.BadInput($"'{folder}' has no {ResultReader.SweepIndexFileName}; it is not the folder of a sweep, repeat or A/B job.");
        }

        return HarnessDocument.Read<SweepIndex>(path, DocumentKind.SweepIndex);
    }
}

/// <summary>One finished point: where its result is and the headline numbers, for a quick look without opening it.</summary>
public sealed class SweepIndexEntry
{
    public string Label { get; set; } = "";

    /// <summary>File name of the point's result, relative to the index; a full path when the file lies elsewhere (rescued to a temporary folder).</summary>
    public string File { get; set; } = "";

    public string Scenario { get; set; } = "";

    /// <summary>Offered arrival rate (requests/s) of an open-loop point.</summary>
    public double? Rate { get; set; }

    public int Workers { get; set; }

    public int Batch { get; set; }

    public bool Valid { get; set; }

    /// <summary>Whether every SLO was met (the "slo" validity condition), when SLOs were given.</summary>
    public bool? SloMet { get; set; }

    public double ThroughputPerS { get; set; }

    public double RequestsPerS { get; set; }

    public double? LatencyP50Ms { get; set; }

    public double? LatencyP99Ms { get; set; }

    public double? GoodputPerS { get; set; }

    /// <summary>Why the point produced no result (it did not fit, it failed to prepare); null when it ran.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public string? Error { get; set; }

    public DateTime FinishedUtc { get; set; }
}

/// <summary>The outcome of an SLO search: the highest passing rate and the bracket around it.</summary>
public sealed record PeakSearchSummary(
    double? PeakRate,
    string? PeakFile,
    double? LowestFailingRate,
    bool Converged,
    double Precision,
    string Detail);
