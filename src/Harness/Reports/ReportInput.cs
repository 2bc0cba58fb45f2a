using Harness.Agents.Reporting;
using Harness.Cost;
using Harness.Results;

namespace Harness.Reports;

/// <summary>An agents sweep as the report reads it: its document and the point results beside it (none for a sweep file written before sweeps kept them).</summary>
public sealed record AgentSweepInput(string Path, AgentSweepDocument Document, IReadOnlyList<LoadedResult> Points);

/// <summary>
/// What <c>harness report</c> draws: run results, agents sweeps, and the offer to price runs that
/// carry no price. Read from what a user types: result files, folders (a sweep's, a repeat's, an
/// agents sweep's with its agents-sweep.json), globs, or an agents-sweep JSON file.
/// </summary>
public sealed record ReportInput(IReadOnlyList<LoadedResult> Results, IReadOnlyList<AgentSweepInput> Sweeps)
{
    /// <summary>Prices runs whose result has no cost (given with report --instance or --price); null: only the results' own prices.</summary>
    public PriceOffer? Offer { get; init; }

    public string? Title { get; init; }

    public static ReportInput Read(IEnumerable<string> specs)
    {
        var results = new List<LoadedResult>();
        var sweeps = new List<AgentSweepInput>();
        foreach (string spec in specs)
        {
            string sweepFile = Path.Combine(spec, ResultReader.AgentSweepFileName);
            if (Directory.Exists(spec) && File.Exists(sweepFile))
            {
                var points = ResultReader.FindUnder(spec, recursive: false).Select(ResultReader.Read).ToList();
                sweeps.Add(new AgentSweepInput(sweepFile, AgentSweepJson.Read(spec), points));
                results.AddRange(points);
                continue;
            }

            foreach (string file in ResultReader.Find(spec))
            {
                if (HarnessDocument.KindOf(file, "Result file") == DocumentKind.AgentsSweep)
                {
                    AgentSweepDocument doc = AgentSweepJson.Read(file);
                    string folder = Path.GetDirectoryName(file) is { Length: > 0 } d ? d : ".";
                    var points = doc.Points.Where(p => p.Result is not null).Select(p => Path.Combine(folder, p.Result!)).Where(File.Exists).Select(ResultReader.Read).ToList();
                    sweeps.Add(new AgentSweepInput(file, doc, points));
                    results.AddRange(points);
                }
                else
                {
                    results.Add(ResultReader.Read(file));
                }
            }
        }

        results = results.DistinctBy(r => Path.GetFullPath(r.Path)).ToList();
        sweeps = sweeps.DistinctBy(s => Path.GetFullPath(s.Path)).ToList();
        if (results.Count == 0 && sweeps.Count == 0)
        {
            throw HarnessException.BadInput("A report needs at least one result file or agents sweep.");
        }

        return new ReportInput(results, sweeps);
    }
}
