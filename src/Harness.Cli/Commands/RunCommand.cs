using System.CommandLine;
using Harness.Backends;
using Harness.Cli.Display;
using Harness.Engine;
using Harness.Engine.Scenarios;
using Harness.Results;
using Harness.Running;

namespace Harness.Cli.Commands;

/// <summary><c>harness run &lt;workload&gt;</c>: one measurement, one result file.</summary>
public static class RunCommand
{
    public static Command Create(Lazy<BackendRegistry> registry, TextWriter output, TextWriter error, CancellationToken interrupt)
    {
        var workload = new Argument<string>("workload") { Description = "Workload to run: resnet18, minilm, onnx-file (see 'harness list'), or agents (see 'harness run agents --help')." };
        var backend = new Option<string>("--backend", "-b") { Description = "runtime:device[:id], e.g. onnx:cpu, onnx:cuda:0.", DefaultValueFactory = _ => "onnx:cpu" };
        var scenario = new Option<string>("--scenario", "-s") { Description = $"Load pattern: {ScenarioParser.Help}.", DefaultValueFactory = _ => "single" };
        var batch = new Option<int>("--batch") { Description = "Samples per request.", DefaultValueFactory = _ => 1 };
        var threads = new Option<int?>("--threads") { Description = "Intra-op threads (default: the runtime's choice, all cores)." };
        var interOp = new Option<int?>("--inter-op-threads") { Description = "Inter-op threads." };
        var optimization = new Option<string>("--optimization") { Description = "Graph optimization level: none, basic, extended, all.", DefaultValueFactory = _ => "all" };
        var duration = new Option<string>("--duration", "-d") { Description = "Minimum measured duration (30s, 2m...).", DefaultValueFactory = _ => "30s" };
        var maxDuration = new Option<string>("--max-duration") { Description = "Stop measuring after this long even if --min-requests is not met.", DefaultValueFactory = _ => "10m" };
        var warmup = new Option<string>("--warmup") { Description = "Warm-up duration, excluded from results (0s for none).", DefaultValueFactory = _ => "5s" };
        var warmupRequests = new Option<int?>("--warmup-requests") { Description = "Warm up by request count instead of duration." };
        var minRequests = new Option<long>("--min-requests") { Description = "Minimum measured requests.", DefaultValueFactory = _ => 100 };
        var timeout = new Option<string?>("--timeout") { Description = "A request slower than this counts as a timeout." };
        var maxErrorRate = new Option<double>("--max-error-rate") { Description = "Largest share of failed requests in a valid result (0 to 1).", DefaultValueFactory = _ => 0 };
        var tail = new Option<string?>("--tail") { Description = "Tail percentile whose sample count decides validity (default: p90 single, p99 concurrency, none offline)." };
        var seed = new Option<int>("--seed") { Description = "Seed for synthesized inputs.", DefaultValueFactory = _ => 42 };
        var model = new Option<string?>("--model", "-m") { Description = "ONNX model file for onnx-file." };
        var shape = new Option<string[]>("--shape") { Description = "Dimensions of an input, name=1x3x224x224 (repeatable).", AllowMultipleArgumentsPerToken = false };
        var set = new Option<string[]>("--set") { Description = "Workload-specific setting key=value (repeatable)." };
        var outFile = new Option<string?>("--out", "-o") { Description = "Result file (default: results/<machine>/<workload>_<backend>_<scenario>_<utc>.json)." };
        var resultsDir = new Option<string>("--results-dir") { Description = "Folder for default result paths.", DefaultValueFactory = _ => "results" };

        var command = new Command("run", "Run one workload and write a result file. Exit 0 valid, 1 invalid or failed, 2 bad input.")
        {
            workload, backend, scenario, batch, threads, interOp, optimization, duration, maxDuration, warmup, warmupRequests,
            minRequests, timeout, maxErrorRate, tail, seed, model, shape, set, outFile, resultsDir,
        };

        // 'harness run agents ...' is its own subcommand: agent runs take other options than the engine's workloads.
        command.Subcommands.Add(AgentsCommand.CreateRun(registry, output, error, interrupt));
        command.SetAction((parse, _) => Task.FromResult(Execute(parse, interrupt)));
        return command;

        int Execute(ParseResult parse, CancellationToken cancellationToken)
        {
            int? warmN = parse.GetValue(warmupRequests);
            int threadCount = parse.GetValue(threads) ?? 1;
            if (threadCount < 1 || parse.GetValue(interOp) is < 1)
            {
                throw HarnessException.BadInput("--threads and --inter-op-threads must be at least 1.");
            }

            if (parse.GetValue(batch) < 1)
            {
                throw HarnessException.BadInput("--batch must be at least 1.");
            }

            double errorRate = parse.GetValue(maxErrorRate);
            if (errorRate is < 0 or > 1)
            {
                throw HarnessException.BadInput("--max-error-rate must lie between 0 and 1.");
            }

            if (warmN is < 0)
            {
                throw HarnessException.BadInput("--warmup-requests must not be negative.");
            }

            var stop = new StopRules(
                OptionParsers.Duration(parse.GetValue(duration)!, "--duration"),
                parse.GetValue(minRequests),
                OptionParsers.Duration(parse.GetValue(maxDuration)!, "--max-duration"));
            if (stop.MaxDuration < stop.MinDuration)
            {
                throw HarnessException.BadInput("--max-duration must not be shorter than --duration.");
            }

            var settings = new RunSettings
            {
                Scenario = ScenarioParser.Parse(parse.GetValue(scenario)!),
                Batch = parse.GetValue(batch),
                Warmup = warmN is { } n ? WarmupRule.ForRequests(n) : WarmupRule.ForDuration(OptionParsers.Duration(parse.GetValue(warmup)!, "--warmup")),
                Stop = stop,
                RequestTimeout = parse.GetValue(timeout) is { } t ? OptionParsers.Duration(t, "--timeout") : null,
                MaxErrorRate = errorRate,
                Seed = parse.GetValue(seed),
                TailPercentile = parse.GetValue(tail) is { } p ? OptionParsers.Percentile(p) : null,
            };
            var options = new WorkloadOptions
            {
                ModelPath = parse.GetValue(model),
                Shapes = (parse.GetValue(shape) ?? []).Select(OptionParsers.Shape).ToDictionary(kv => kv.Key, kv => kv.Value),
                Threads = parse.GetValue(threads),
                InterOpThreads = parse.GetValue(interOp),
                Optimization = parse.GetValue(optimization)!,
                Extra = (parse.GetValue(set) ?? []).Select(OptionParsers.Setting).ToDictionary(kv => kv.Key, kv => kv.Value),
            };
            var request = new RunRequest(
                parse.GetValue(workload)!,
                BackendSpec.Parse(parse.GetValue(backend)!),
                options,
                settings,
                parse.GetValue(outFile),
                parse.GetValue(resultsDir)!,
                new Dictionary<string, object?> { ["command_line"] = "harness " + string.Join(' ', parse.Tokens.Select(t => t.Value)) });

            var progress = new EngineProgress();
            var runner = new BenchmarkRunner(registry.Value);
            RunOutcome outcome = ProgressDisplay.Run(progress, $"{request.Workload} {request.Backend}", error, () => runner.Run(request, progress, cancellationToken));
            output.Write(MarkdownSummary.Render(outcome.Document, outcome.Path));
            if (outcome.Document.Cancelled)
            {
                error.WriteLine($"harness: cancelled; the partial result was written to {outcome.Path}.");
            }

            return outcome.ExitCode;
        }
    }
}
