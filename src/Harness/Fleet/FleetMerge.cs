using System.Globalization;
using System.Text.Json;
using Harness.Results;

namespace Harness.Fleet;

/// <summary>How to merge a fleet's results.</summary>
public sealed record MergeOptions
{
    /// <summary>Robust deviations from the fleet median beyond which a node is flagged.</summary>
    public double K { get; init; } = 3.5;

    /// <summary>Relative distance from the median below which nothing is flagged (noise floor).</summary>
    public double MinDeviation { get; init; } = 0.02;

    /// <summary>Tasks the fleet ran; null: from fleet.json, else from the exit records, else unknown.</summary>
    public int? ExpectedTasks { get; init; }

    /// <summary>What the scheduler says about each task, to explain the ones without a result.</summary>
    public IReadOnlyList<SchedulerTaskState> SchedulerStates { get; init; } = [];

    public int LogTailLines { get; init; } = 10;

    public MergeOptions Validate()
    {
        if (!(K > 0) || double.IsInfinity(K))
        {
            throw HarnessException.BadInput($"--k must be a positive number of robust deviations, got {K.ToString(CultureInfo.InvariantCulture)}.");
        }

        if (!(MinDeviation >= 0) || MinDeviation >= 1)
        {
            throw HarnessException.BadInput($"--min-deviation must lie in [0, 1), got {MinDeviation.ToString(CultureInfo.InvariantCulture)}.");
        }

        if (ExpectedTasks is < 1)
        {
            throw HarnessException.BadInput($"--expect must be at least 1, got {ExpectedTasks}.");
        }

        return this;
    }
}

/// <summary>
/// Merges the result files of a fleet run into one <see cref="FleetSummary"/>: per-node figures,
/// aggregate, spread (median, MAD, min, max, CV) and outliers by a robust rule (MAD-scaled distance
/// from the fleet median, after Iglewicz and Hoaglin's modified z-score, plus a relative noise floor).
/// It never drops a node silently: every expected task, exit record and result file becomes a row,
/// with the reason when it is not OK. The steps: <see cref="FleetInputs"/> reads the folder,
/// <see cref="FleetSuites"/> picks the fleet's suite, <see cref="NodeJudge"/> makes each task's row,
/// <see cref="FleetOutliers"/> groups and flags, <see cref="FleetAggregator"/> sums up.
/// </summary>
public static class FleetMerge
{
    public static FleetSummary Merge(string folder, MergeOptions? options = null)
    {
        options = (options ?? new MergeOptions()).Validate();
        FleetInputs inputs = FleetInputs.Read(folder);
        int? expected = options.ExpectedTasks ?? inputs.Manifest?.Tasks
            ?? (inputs.Exits.Values.Select(e => e.Record?.Tasks ?? 0).DefaultIfEmpty(0).Max() is > 0 and var t ? t : null);
        if (inputs.Files.Count == 0 && inputs.Exits.Count == 0 && expected is null)
        {
            throw HarnessException.BadInput($"The folder '{folder}' holds no result files, no exit records and no fleet.json; nothing to merge.");
        }

        var summary = new FleetSummary
        {
            CreatedUtc = DateTime.UtcNow,
            Source = folder,
            JobId = inputs.Manifest?.JobId is { Length: > 0 } id ? id : inputs.Exits.Values.Select(e => e.Record?.JobId).FirstOrDefault(j => !string.IsNullOrEmpty(j)),
            Rule = new OutlierRule { K = options.K, MinDeviation = options.MinDeviation },
            ExpectedTasks = expected,
        };

        (FleetSuite? suite, string? suiteKey) = FleetSuites.Choose(inputs.Files);
        summary.Suite = suite;
        foreach (LoadedFile f in inputs.Files.Where(f => f.Document is not null && f.SuiteKey != suiteKey))
        {
            f.Refusal = "another suite: " + FleetSuites.Describe(suite!, FleetSuites.SuiteOf(f.Document!));
        }

        summary.Nodes = NodeJudge.Judge(inputs, expected, options);
        FleetOutliers.Group(summary, inputs.Files);
        FleetOutliers.Flag(summary);
        summary.Aggregate = FleetAggregator.Aggregate(summary.Nodes, inputs.Files);
        summary.Healthy = FleetAggregator.Healthy(summary);
        FleetAggregator.AddNotes(summary);
        return summary;
    }

    /// <summary>Writes the summary atomically as JSON, rescued to a temporary folder when its own cannot take it (<see cref="ResultWriter"/>).</summary>
    public static WrittenResult Write(FleetSummary summary, string path) =>
        ResultWriter.Write(path, JsonSerializer.Serialize(summary, ResultJson.Options));
}
