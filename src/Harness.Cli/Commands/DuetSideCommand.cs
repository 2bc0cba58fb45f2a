using System.CommandLine;
using Harness.Backends;
using Harness.Measurement;
using Harness.Running;

namespace Harness.Cli.Commands;

/// <summary>
/// <c>harness duet-side</c> (hidden): one side of a duet pair, started by <c>harness ab --duet</c>. It pins
/// itself to its cores, runs as <c>harness run</c> would, meets its partner before the measured phase and
/// writes its per-window counts into the result's <c>duet</c> section.
/// </summary>
public static class DuetSideCommand
{
    public static Command Create(Lazy<BackendRegistry> registry, TextWriter error)
    {
        var job = new Option<string>("--job") { Required = true };
        var pair = new Option<int>("--pair") { Required = true };
        var side = new Option<string>("--side") { Required = true };
        var cpus = new Option<string>("--cpus") { Required = true };
        var window = new Option<double>("--window") { DefaultValueFactory = _ => 1.0 };
        var sync = new Option<string>("--sync") { Required = true };
        var outPath = new Option<string>("--out") { Required = true };
        var device = new Option<string?>("--device");
        var run = new Option<string>("--run") { Required = true };
        var command = new Command("duet-side", "One side of a duet pair, as harness ab --duet starts it.")
        {
            job, pair, side, cpus, window, sync, outPath, device, run,
        };
        command.Hidden = true;
        command.SetAction((parse, cancellationToken) => Task.FromResult(Execute(parse, cancellationToken)));
        return command;

        int Execute(ParseResult parse, CancellationToken cancellationToken)
        {
            string me = parse.GetValue(side)!;
            if (me is not ("a" or "b"))
            {
                throw HarnessException.BadInput("--side must be a or b.");
            }

            IReadOnlyList<int> asked = CpuAffinity.ParseList(parse.GetValue(cpus)!);
            CpuAffinity.PinProcess(asked);
            IReadOnlyList<int> pinned = CpuAffinity.Allowed(); // what the kernel now says, recorded in the result
            if (!pinned.SequenceEqual(asked))
            {
                throw new HarnessException(
                    $"Pinned to CPUs {CpuAffinity.Describe(asked)}, the process runs on {CpuAffinity.Describe(pinned)}.");
            }

            RunRequest request = RunOptions.ParseArguments(parse.GetValue(run)!, "--run") with { OutputPath = parse.GetValue(outPath) };
            var settings = new DuetSideSettings(parse.GetValue(job)!, parse.GetValue(pair), me, pinned, parse.GetValue(device),
                parse.GetValue(window), TimeSpan.FromHours(6));
            var rendezvous = new FileRendezvous(parse.GetValue(sync)!, me, me == "a" ? "b" : "a", TimeSpan.FromMinutes(5));
            var recorder = new DuetRecorder(settings, StopwatchClock.Instance, rendezvous, null, cancellationToken);
            var runner = new BenchmarkRunner(registry.Value);
            using var measurement = new DuetMeasurement(new EngineMeasurement(request, registry.Value, StopwatchClock.Instance), recorder);
            RunOutcome outcome = runner.Run(measurement, request.Output, null, cancellationToken);
            error.WriteLine($"harness: duet side {me} of pair {settings.Pair} on CPU {CpuAffinity.Describe(pinned)}: "
                + $"{(outcome.Document.Valid ? "VALID" : "INVALID")} -> {outcome.Path}");
            return outcome.ExitCode;
        }
    }
}
