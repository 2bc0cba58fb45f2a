using Harness.Results;
using Harness.Trust.Comparability;

namespace Harness.Trust.Noise;

/// <summary>
/// Past runs of one measurement as the baseline (as Bencher's thresholds): every result under a
/// folder (sub-folders too, e.g. one per CI job), newest first by start time, the runs that cannot
/// be compared like for like with the current run left out by name, and a window of the newest.
/// </summary>
public static class RunHistory
{
    public const int DefaultWindow = 30;

    /// <param name="Runs">The window, newest first.</param>
    /// <param name="Notes">What was left out and why.</param>
    public sealed record Window(IReadOnlyList<LoadedResult> Runs, IReadOnlyList<string> Notes);

    /// <param name="like">The run the history is compared with: runs that differ from it in what moves speed are left out. Null keeps every run of the first one's workload.</param>
    public static Window Read(string folder, int window, ResultDocument? like = null)
    {
        if (window < 1)
        {
            throw HarnessException.BadInput($"--window must be at least 1, got {window}.");
        }

        if (!Directory.Exists(folder))
        {
            throw HarnessException.BadInput($"The history '{folder}' is not a folder; give the folder that holds the past runs.");
        }

        var notes = new List<string>();
        var runs = new List<LoadedResult>();
        int unreadable = 0;
        foreach (string path in ResultReader.FindUnder(folder))
        {
            if (ResultReader.TryRead(path, out LoadedResult? r, out _))
            {
                runs.Add(r!);
            }
            else
            {
                unreadable++;
            }
        }

        if (unreadable > 0)
        {
            notes.Add($"{unreadable} file(s) under {folder} are not run results and were skipped");
        }

        string? workload = like?.Workload ?? runs.OrderByDescending(r => r.Document.StartedUtc).FirstOrDefault()?.Document.Workload;
        int otherWorkload = runs.RemoveAll(r => r.Document.Workload != workload);
        if (otherWorkload > 0)
        {
            notes.Add($"{otherWorkload} run(s) of other workloads were left out");
        }

        if (like is not null)
        {
            var unlike = runs.Where(r => ComparabilityRule.Differences(r.Document, like).Any(d => d.MovesSpeed)).ToList();
            foreach (IGrouping<string, LoadedResult> g in unlike.GroupBy(r => ComparabilityRule.Differences(r.Document, like).First(d => d.MovesSpeed).ToString()))
            {
                notes.Add($"{g.Count()} run(s) left out as not like for like with the current run ({g.Key}), e.g. {g.First().Path}");
            }

            runs.RemoveAll(unlike.Contains);
        }

        if (runs.Count == 0)
        {
            throw HarnessException.BadInput($"The history '{folder}' holds no run of {workload ?? "any workload"} that can be compared with the current run{(notes.Count > 0 ? " (" + string.Join("; ", notes) + ")" : "")}.");
        }

        var newest = runs.OrderByDescending(r => r.Document.StartedUtc).ThenByDescending(r => r.Path, StringComparer.Ordinal).ToList();
        if (newest.Count > window)
        {
            notes.Add($"the newest {window} of {newest.Count} comparable runs are used (--window)");
        }

        return new Window(newest.Take(window).ToList(), notes);
    }
}
