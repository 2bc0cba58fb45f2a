using System.CommandLine;
using Harness.Backends;
using Harness.Cli.Display;
using Harness.Engine;
using Harness.Gate;
using Harness.Hardware;
using Harness.Running;

namespace Harness.Cli.Commands;

/// <summary>
/// <c>harness ab --a "&lt;run args&gt;" --b "&lt;run args&gt;"</c>: two configurations measured in one
/// job, interleaved round by round, then gated as <c>compare</c> would (A is the base).
/// </summary>
public static class AbCommand
{
    public static Command Create(Lazy<BackendRegistry> registry, TextWriter output, TextWriter error)
    {
        var a = new Option<string>("--a") { Description = "Run arguments of the base, as for 'harness run', e.g. \"resnet18 --threads 1 --duration 10s\".", Required = true };
        var b = new Option<string>("--b") { Description = "Run arguments of the candidate.", Required = true };
        var rounds = new Option<int>("--rounds") { Description = "Runs per side; rounds alternate the order (AB, BA, ...).", DefaultValueFactory = _ => 5 };
        var confirm = new Option<bool>("--confirm") { Description = "On a regression, rerun as many rounds and fail only if the rerun regresses too." };
        var outDir = new Option<string?>("--out", "-o") { Description = "Folder for the runs (a/, b/ and, with --confirm, a-confirm/, b-confirm/); default under results/<machine>/." };
        var duet = new Option<bool>("--duet")
        {
            Description = "Run A and B at the same time, each in its own process pinned to its own half of the CPUs (swapped every round), "
                + "and judge the ratio of their throughput over the same seconds: what slows the machine slows both and cancels "
                + "(docs/ci-gate.md).",
        };
        var window = OptionParsers.Duration("--window", "With --duet: the length of the aligned windows.", "1s");
        var harnessA = new Option<string?>("--a-harness")
        {
            Description = "With --duet: the harness build that runs A (an executable or harness.dll); default this one.",
        };
        var harnessB = new Option<string?>("--b-harness") { Description = "With --duet: the harness build that runs B; default this one." };
        var gate = new GateOptionSet();
        var command = new Command("ab",
            "Measure two configurations interleaved in one job and gate B against A. Exit 0 pass, 1 regression, 2 bad input, 3 inconclusive.")
        {
            a, b, rounds, confirm, outDir, duet, window, harnessA, harnessB,
        };
        gate.AddTo(command);
        command.SetAction((parse, cancellationToken) => Task.FromResult(Execute(parse, cancellationToken)));
        return command;

        int Execute(ParseResult parse, CancellationToken cancellationToken)
        {
            RunRequest requestA = RunOptions.ParseArguments(parse.GetValue(a)!, "--a");
            RunRequest requestB = RunOptions.ParseArguments(parse.GetValue(b)!, "--b");
            int n = parse.GetValue(rounds);
            if (n is < 1 or > 1000)
            {
                throw HarnessException.BadInput("--rounds must lie between 1 and 1000.");
            }

            GateOptions options = gate.Build(parse);
            if (parse.GetValue(duet))
            {
                return Duet(parse, requestA, requestB, n, options, cancellationToken);
            }

            var runner = new BenchmarkRunner(registry.Value);
            string folder = parse.GetValue(outDir) ?? runner.DefaultFolder(requestA, "ab");
            var progress = new EngineProgress();
            RunOutcome RunOne(RunRequest r)
            {
                string side = ReferenceEquals(r.Options, requestA.Options) ? "A" : "B";
                RunOutcome o = ProgressDisplay.Run(progress, $"{side}: {r.Workload} {r.Backend} {r.Settings.Scenario.Name}", error, () => runner.Run(r, progress, cancellationToken));
                error.WriteLine($"harness: {side} {(o.Document.Valid ? "VALID" : "INVALID")} -> {o.Path}");
                RunCommand.ReportRescue(o, error);
                return o;
            }

            AbOutcome outcome = AbTest.Run(requestA, requestB, new AbOptions(n, parse.GetValue(confirm), options), folder, RunOne);
            if (outcome.Confirmation is { } second)
            {
                output.WriteLine("First comparison:");
                output.Write(GateTextReport.Render(outcome.First));
                output.WriteLine();
                return gate.Report(parse, second, output,
                    second.Verdict == GateVerdict.Regression ? "Confirmation rerun: the regression repeated." : "Confirmation rerun: the regression did not repeat; this verdict stands.");
            }

            return gate.Report(parse, outcome.First, output);
        }

        int Duet(ParseResult parse, RunRequest requestA, RunRequest requestB, int n, GateOptions options,
            CancellationToken cancellationToken)
        {
            if (parse.GetValue(confirm))
            {
                throw HarnessException.BadInput("--confirm reruns the interleaved design; with --duet, give more --rounds instead.");
            }

            double windowS = parse.GetValue(window).TotalSeconds;
            if (windowS is < 0.05 or > 600)
            {
                throw HarnessException.BadInput("--window must lie between 50ms and 10m.");
            }

            int gpus = requestA.Backend.Device == "cuda" ? HardwareProbe.Probe(registry.Value.PackageVersions).Gpus.Count : 0;
            DuetPlacement placement = DuetPlacement.Plan(requestA.Backend, requestB.Backend, CpuAffinity.Allowed(), gpus);
            IReadOnlyList<string> sideA = Harness(parse.GetValue(harnessA)), sideB = Harness(parse.GetValue(harnessB));
            string folder = parse.GetValue(outDir) ?? new BenchmarkRunner(registry.Value).DefaultFolder(requestA, "ab-duet");
            string argsA = parse.GetValue(a)!, argsB = parse.GetValue(b)!;
            (string, string) RunPair(DuetRound r)
            {
                string cpus = $"A on CPU {CpuAffinity.Describe(r.Slots.CpusA)}, B on CPU {CpuAffinity.Describe(r.Slots.CpusB)}";
                error.WriteLine($"harness: duet pair {r.Pair}/{n}: {cpus}"
                    + (r.Slots.GpuA is { } ga ? $", A on cuda:{ga}, B on cuda:{r.Slots.GpuB}" : ""));
                return DuetLauncher.RunPair(
                    new DuetSideLaunch(sideA, argsA, r.Job, r.Pair, "a", r.Slots.CpusA, r.Slots.GpuA, windowS, r.PathA, r.SyncFolder,
                        r.LogA),
                    new DuetSideLaunch(sideB, argsB, r.Job, r.Pair, "b", r.Slots.CpusB, r.Slots.GpuB, windowS, r.PathB, r.SyncFolder,
                        r.LogB),
                    cancellationToken);
            }

            GateReport report = DuetTest.Run(requestA.Workload, requestB.Workload, new DuetOptions(n, windowS, options), placement, folder,
                RunPair);
            string again = $"harness compare {Path.Combine(folder, "a")} {Path.Combine(folder, "b")}";
            error.WriteLine($"harness: duet results in {folder} (a/, b/; {again} repeats the verdict)");
            return gate.Report(parse, report, output);
        }
    }

    /// <summary>The harness build a duet side runs: this one, an executable, or dotnet and a harness.dll.</summary>
    internal static IReadOnlyList<string> Harness(string? path) => path switch
    {
        null => FleetArguments.Self(),
        _ when path.EndsWith(".dll", StringComparison.OrdinalIgnoreCase) => ["dotnet", Path.GetFullPath(path)],
        _ => [Path.GetFullPath(path)],
    };
}
