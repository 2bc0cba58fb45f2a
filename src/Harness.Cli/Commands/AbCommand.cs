using System.CommandLine;
using Harness.Backends;
using Harness.Cli.Display;
using Harness.Engine;
using Harness.Gate;
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
        var gate = new GateOptionSet();
        var command = new Command("ab",
            "Measure two configurations interleaved in one job and gate B against A. Exit 0 pass, 1 regression, 2 bad input, 3 inconclusive.")
        {
            a, b, rounds, confirm, outDir,
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
    }
}
