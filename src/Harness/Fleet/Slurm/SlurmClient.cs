using System.Globalization;
using System.Text.RegularExpressions;

namespace Harness.Fleet.Slurm;

/// <summary>
/// Talks to Slurm through its own commands: sbatch to submit, squeue for tasks the controller still
/// knows (pending, running, recently ended), sacct for older ones where accounting is on.
/// </summary>
public sealed partial class SlurmClient
{
    /// <summary>How long one Slurm command may take before the harness gives up on it.</summary>
    public static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(60);

    private readonly IProcessRunner _runner;

    public SlurmClient(IProcessRunner? runner = null) => _runner = runner ?? SystemProcessRunner.Instance;

    /// <summary>The path of a Slurm command; bad input (exit 2) in one sentence when Slurm is not installed.</summary>
    public string Require(string command, string? hint = null) =>
        _runner.Locate(command)
        ?? throw HarnessException.BadInput($"Slurm is not installed here: '{command}' was not found on PATH{(hint is null ? "" : $" ({hint})")}.");

    /// <summary>Submits a script with sbatch and returns the job id.</summary>
    public string Submit(string scriptPath)
    {
        string sbatch = Require("sbatch", "use --dry-run to print the script instead");
        ProcessResult r = _runner.Run(sbatch, ["--parsable", scriptPath], CommandTimeout);
        if (r.ExitCode != 0)
        {
            throw HarnessException.BadInput($"sbatch refused the job: {r.FirstErrorLine}.");
        }

        // --parsable prints "jobid" or "jobid;cluster".
        string id = r.Stdout.Trim().Split(';')[0].Trim();
        if (!JobIdPattern().IsMatch(id))
        {
            throw new HarnessException($"sbatch answered '{r.Stdout.Trim()}', which holds no job id.", ExitCodes.Invalid);
        }

        return id;
    }

    /// <summary>
    /// Every task of a job the scheduler can describe: squeue first (it knows live tasks), then sacct
    /// for tasks squeue no longer lists. Where accounting is disabled, sacct adds nothing.
    /// </summary>
    public IReadOnlyList<SchedulerTaskState> Query(string jobId)
    {
        CheckJobId(jobId);
        string squeue = Require("squeue");
        var byTask = new SortedDictionary<int, SchedulerTaskState>();
        ProcessResult q = _runner.Run(squeue, ["--noheader", "--array", "--states=all", $"--jobs={jobId}", "--format=%i|%T|%N|%r"], CommandTimeout);
        if (q.ExitCode == 0)
        {
            foreach (SchedulerTaskState s in ParseSqueue(q.Stdout, jobId))
            {
                byTask[s.Task] = s;
            }
        }
        else if (!q.Stderr.Contains("Invalid job id", StringComparison.OrdinalIgnoreCase))
        {
            // A job squeue no longer knows is normal (sacct may); a controller it cannot reach is not.
            throw HarnessException.BadInput($"squeue could not describe job {jobId}: {q.FirstErrorLine}.");
        }

        if (_runner.Locate("sacct") is { } sacct)
        {
            ProcessResult a = _runner.Run(sacct, ["--noheader", "--parsable2", "--allocations", $"--jobs={jobId}", "--format=JobID,State,ExitCode,NodeList"], CommandTimeout);
            if (a.ExitCode == 0)
            {
                foreach (SchedulerTaskState s in ParseSacct(a.Stdout, jobId))
                {
                    byTask.TryAdd(s.Task, s);
                }
            }
        }

        return byTask.Values.ToList();
    }

    public static void CheckJobId(string jobId)
    {
        if (!JobIdPattern().IsMatch(jobId))
        {
            throw HarnessException.BadInput($"'{jobId}' is not a Slurm job id (digits only).");
        }
    }

    /// <summary>Lines of <c>squeue --array --format=%i|%T|%N|%r</c>: "123_4|RUNNING|node1|None".</summary>
    public static IEnumerable<SchedulerTaskState> ParseSqueue(string text, string jobId)
    {
        foreach (string[] f in Fields(text, 4))
        {
            foreach (int task in Tasks(f[0], jobId))
            {
                yield return new SchedulerTaskState(task, f[1], Blank(f[2]), Blank(f[3]), "squeue");
            }
        }
    }

    /// <summary>Lines of <c>sacct --parsable2 --format=JobID,State,ExitCode,NodeList</c>: "123_4|TIMEOUT|0:15|node1".</summary>
    public static IEnumerable<SchedulerTaskState> ParseSacct(string text, string jobId)
    {
        foreach (string[] f in Fields(text, 4))
        {
            // "CANCELLED by 0": the state is the first word.
            string state = f[1].Split(' ', 2)[0];
            string? exit = Blank(f[2]) is { } e ? $"exit {e}" : null;
            foreach (int task in Tasks(f[0], jobId))
            {
                yield return new SchedulerTaskState(task, state, Blank(f[3]) is "None assigned" ? null : Blank(f[3]), exit, "sacct");
            }
        }
    }

    /// <summary>
    /// The array indices in a job id: "123_4" is task 4; "123_[0-3,7%2]" (a pending block) is tasks 0-3 and 7;
    /// other jobs' ids and job steps ("123_4.batch") give none.
    /// </summary>
    public static IEnumerable<int> Tasks(string id, string jobId)
    {
        string prefix = jobId + "_";
        if (!id.StartsWith(prefix, StringComparison.Ordinal))
        {
            yield break;
        }

        string rest = id[prefix.Length..];
        if (int.TryParse(rest, NumberStyles.None, CultureInfo.InvariantCulture, out int single))
        {
            yield return single;
            yield break;
        }

        if (rest.Length < 2 || rest[0] != '[' || rest[^1] != ']')
        {
            yield break;
        }

        string body = rest[1..^1].Split('%')[0];
        foreach (string part in body.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] ends = part.Split('-');
            if (ends.Length is 1 or 2
                && int.TryParse(ends[0], NumberStyles.None, CultureInfo.InvariantCulture, out int lo)
                && int.TryParse(ends[^1], NumberStyles.None, CultureInfo.InvariantCulture, out int hi)
                && hi >= lo && hi - lo < 1_000_000)
            {
                for (int t = lo; t <= hi; t++)
                {
                    yield return t;
                }
            }
        }
    }

    private static IEnumerable<string[]> Fields(string text, int count) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(line => line.Split('|'))
            .Where(f => f.Length >= count);

    private static string? Blank(string s) => string.IsNullOrWhiteSpace(s) || s == "(null)" ? null : s.Trim();

    [GeneratedRegex(@"^\d{1,12}$")]
    private static partial Regex JobIdPattern();
}
