using Harness.Results;
using Harness.Running;

namespace Harness.Gate;

/// <summary>What a duet job does: pairs (rounds), the window length, and the gate's rule.</summary>
public sealed record DuetOptions(int Rounds, double WindowS, GateOptions Gate);

/// <summary>One round of a duet job, as its launcher needs it: where each side runs and writes.</summary>
public sealed record DuetRound(int Pair, string Job, DuetSlots Slots, string PathA, string PathB, string SyncFolder, string LogA,
    string LogB);

/// <summary>
/// <c>harness ab --duet</c>: base and candidate measured at the same time, each in its own process on its
/// own cores, swapping cores every round; their windows aligned in wall-clock time; the pairs gated by
/// <see cref="DuetGate"/>. The folder holds a/pair-NN.json and b/pair-NN.json (so <c>harness compare
/// FOLDER/a FOLDER/b</c> gives the same verdict), the rendezvous files and each side's log.
/// </summary>
public static class DuetTest
{
    public static GateReport Run(string workloadA, string workloadB, DuetOptions options, DuetPlacement placement, string folder,
        Func<DuetRound, (string PathA, string PathB)> runPair, string? job = null)
    {
        if (options.Rounds < 1)
        {
            throw HarnessException.BadInput("--rounds must be at least 1.");
        }

        if (!string.Equals(workloadA, workloadB, StringComparison.Ordinal))
        {
            throw HarnessException.BadInput($"A runs workload '{workloadA}' and B runs '{workloadB}'; an A/B job compares two "
                + $"configurations of the same workload.");
        }

        GateOptions gate = options.Gate.Validated() with { ComparingConfigurations = true };
        job ??= DateTime.UtcNow.ToString("yyyyMMdd'T'HHmmss'Z'",
            System.Globalization.CultureInfo.InvariantCulture) + "-" + Environment.ProcessId;
        var pathsA = new List<string>();
        var pathsB = new List<string>();
        for (int pair = 1; pair <= options.Rounds; pair++)
        {
            string name = $"pair-{pair:00}";
            var round = new DuetRound(pair, job, placement.Round(pair), Path.Combine(folder, "a", name + ".json"), Path.Combine(folder,
                "b", name + ".json"),
                Path.Combine(folder, "sync", name), Path.Combine(folder, "logs", name + "-a.log"), Path.Combine(folder, "logs",
                    name + "-b.log"));
            if (Directory.Exists(round.SyncFolder))
            {
                Directory.Delete(round.SyncFolder, recursive: true); // a stale partner's instant would misalign the pair
            }

            Directory.CreateDirectory(Path.GetDirectoryName(round.PathA)!);
            Directory.CreateDirectory(Path.GetDirectoryName(round.PathB)!);
            (string a, string b) = runPair(round);
            pathsA.Add(a);
            pathsB.Add(b);
        }

        List<ResultDocument> docsA = [.. pathsA.Select(ResultReader.ReadDocument)], docsB = [.. pathsB.Select(ResultReader.ReadDocument)];
        return DuetGate.Compare(docsA, docsB, gate, pathsA, pathsB);
    }
}
