using System.CommandLine;
using System.Globalization;
using Harness.Backends;
using Harness.Cli.Display;
using Harness.Cost;
using Harness.Engine;
using Harness.Engine.Scenarios;
using Harness.Formatting;
using Harness.Results;
using Harness.Running;

namespace Harness.Cli.Commands;

/// <summary>
/// <c>harness run &lt;workload&gt;</c>: one measurement and one result file, or a multi-run job
/// (a rate or concurrency sweep, repeated runs, an SLO search) writing one file per point and an index.
/// </summary>
public static class RunCommand
{
    public static Command Create(Lazy<BackendRegistry> registry, TextWriter output, TextWriter error, CancellationToken interrupt)
    {
        var run = new RunOptions();
        var outFile = new Option<string?>("--out", "-o") { Description = "Result file (default: results/<machine>/<workload>_<backend>_<scenario>_<utc>.json); for a sweep, repeat or search: the folder for its files." };
        var sweepRate = new Option<string?>("--sweep-rate") { Description = "Run poisson arrivals at each rate, e.g. 10,20,40 (requests/s); each point is written as it finishes." };
        var sweepConcurrency = new Option<string?>("--sweep-concurrency") { Description = "Run a closed loop at each concurrency, e.g. 1,2,4." };
        var sweepBatch = new Option<string?>("--sweep-batch") { Description = "Run the scenario at each batch size, e.g. 1,16,64; a point that does not fit is recorded as failed with its reason and the sweep goes on." };
        var repeat = new Option<int>("--repeat") { Description = "Run the same measurement N times (one file each): run-level statistics for 'harness compare'.", DefaultValueFactory = _ => 1 };
        var sloSearch = new Option<bool>("--slo-search") { Description = "Find the highest poisson rate that meets --slo, starting from --scenario poisson:RATE (bisection, as MLPerf's FindPeakPerformance)." };
        var precision = new Option<string>("--search-precision") { Description = "Stop the SLO search when the bracket is this narrow, relative to the peak.", DefaultValueFactory = _ => "5%" };
        var maxRuns = new Option<int>("--search-max-runs") { Description = "Run budget of the SLO search.", DefaultValueFactory = _ => 12 };

        var command = new Command("run", "Run one workload and write a result file, or a sweep of them. Exit 0 valid (every point valid; a peak found), 1 invalid or failed, 2 bad input.");
        run.AddTo(command);
        foreach (Option o in new Option[] { outFile, sweepRate, sweepConcurrency, sweepBatch, repeat, sloSearch, precision, maxRuns })
        {
            command.Add(o);
        }

        // 'harness run agents ...' is its own subcommand: agent runs take other options than the engine's workloads.
        command.Subcommands.Add(AgentsCommand.CreateRun(registry, output, error, interrupt));
        command.SetAction((parse, _) => Task.FromResult(Execute(parse, interrupt)));
        return command;

        int Execute(ParseResult parse, CancellationToken cancellationToken)
        {
            RunRequest request = run.Build(parse, parse.GetValue(outFile));
            var runner = new BenchmarkRunner(registry.Value);
            var progress = new EngineProgress();
            RunOutcome RunOne(RunRequest r)
            {
                if (TailRule.Forecast(r.Settings) is { } forecast)
                {
                    error.WriteLine($"harness: {(forecast.Warning ? "warning: " : "")}{r.Settings.Scenario.Name}: {forecast.Message}");
                }

                string title = $"{r.Workload} {r.Backend} {r.Settings.Scenario.Name}";
                return ProgressDisplay.Run(progress, title, error, () => runner.Run(r, progress, cancellationToken));
            }

            double[]? rates = parse.GetValue(sweepRate) is { } rs ? ParseList(rs, "--sweep-rate", v => double.Parse(v, NumberStyles.Float, CultureInfo.InvariantCulture), v => v is > 0 and <= 1_000_000) : null;
            int[]? levels = parse.GetValue(sweepConcurrency) is { } cs ? ParseList(cs, "--sweep-concurrency", v => int.Parse(v, NumberStyles.None, CultureInfo.InvariantCulture), v => v is >= 1 and <= 4096) : null;
            int[]? batches = parse.GetValue(sweepBatch) is { } bs ? ParseList(bs, "--sweep-batch", v => int.Parse(v, NumberStyles.None, CultureInfo.InvariantCulture), v => v is >= 1 and <= 65536) : null;
            int repeats = parse.GetValue(repeat);
            bool search = parse.GetValue(sloSearch);
            if (repeats is < 1 or > 1000)
            {
                throw HarnessException.BadInput("--repeat must lie between 1 and 1000.");
            }

            int modes = (rates is null ? 0 : 1) + (levels is null ? 0 : 1) + (batches is null ? 0 : 1) + (repeats > 1 ? 1 : 0) + (search ? 1 : 0);
            if (modes > 1)
            {
                throw HarnessException.BadInput("--sweep-rate, --sweep-concurrency, --sweep-batch, --repeat and --slo-search cannot be combined; choose one.");
            }

            if (modes == 0)
            {
                RunOutcome single = RunOne(request);
                output.Write(MarkdownSummary.Render(single.Document, single.Path));
                foreach (string warning in single.Warnings ?? [])
                {
                    error.WriteLine($"harness: warning: {warning}");
                }

                ReportRescue(single, error);

                if (CostReport.RunLine(single.Document) is { } cost)
                {
                    output.WriteLine(cost);
                }

                if (single.Document.Cancelled)
                {
                    error.WriteLine($"harness: cancelled; the partial result was written to {single.Path}.");
                }

                return single.ExitCode;
            }

            bool scenarioGiven = parse.GetResult(run.Scenario) is { Implicit: false };
            IScenario scenario = request.Settings.Scenario;
            string kind = rates is not null ? "rate" : levels is not null ? "concurrency" : batches is not null ? "batch" : search ? "slo_search" : "repeat";
            string? outPath = parse.GetValue(outFile);
            if (outPath is not null && outPath.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
            {
                throw HarnessException.BadInput($"--out '{outPath}' looks like a file, but a {kind} job writes several files: give a folder.");
            }

            string folder = outPath ?? runner.DefaultFolder(request, kind);
            SweepOutcome outcome;
            if (rates is not null)
            {
                if (scenarioGiven && scenario is not PoissonScenario)
                {
                    throw HarnessException.BadInput($"--sweep-rate varies the arrival rate of a poisson scenario, but --scenario is '{scenario.Name}'; use --scenario poisson:RATE[:WORKERS] or leave it out.");
                }

                var template = scenario as PoissonScenario ?? new PoissonScenario(rates[0], PoissonScenario.DefaultWorkers, request.Settings.Seed);
                outcome = SweepRunner.Run(request, SweepPlan.Rates(template, rates), folder, Announce(RunOne));
            }
            else if (levels is not null)
            {
                if (scenarioGiven && scenario is not ClosedLoopScenario { Workers: > 1 } && scenario.Name != "single")
                {
                    throw HarnessException.BadInput($"--sweep-concurrency varies a closed loop's concurrency, but --scenario is '{scenario.Name}'; leave --scenario out.");
                }

                outcome = SweepRunner.Run(request, SweepPlan.Concurrencies(levels), folder, Announce(RunOne));
            }
            else if (batches is not null)
            {
                outcome = SweepRunner.Run(request, SweepPlan.Batches(scenario, batches), folder, Announce(RunOne));
            }
            else if (search)
            {
                if (scenario is not PoissonScenario start)
                {
                    throw HarnessException.BadInput("--slo-search starts from the rate of a poisson scenario: add --scenario poisson:RATE (a rate the system should meet).");
                }

                double relative = ParsePrecision(parse.GetValue(precision)!);
                if (parse.GetValue(maxRuns) is < 2 or > 100)
                {
                    throw HarnessException.BadInput("--search-max-runs must lie between 2 and 100.");
                }

                outcome = SweepRunner.FindPeak(request, start, relative, parse.GetValue(maxRuns), folder, Announce(RunOne));
            }
            else
            {
                outcome = SweepRunner.Run(request, SweepPlan.Repeats(scenario, repeats), folder, Announce(RunOne));
            }

            output.Write(SweepSummary(outcome));
            if (outcome.IndexRescue is { } indexRescue)
            {
                error.WriteLine($"harness: {indexRescue}");
            }

            if (outcome.Index.Status == "cancelled")
            {
                error.WriteLine($"harness: cancelled; the finished points are listed in {outcome.IndexPath}.");
            }

            return outcome.ExitCode;
        }

        Func<RunRequest, RunOutcome> Announce(Func<RunRequest, RunOutcome> runOne) => r =>
        {
            RunOutcome o = runOne(r);
            ResultMetrics m = o.Document.Metrics;
            error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"harness: {r.Settings.Scenario.Name}: {(o.Document.Valid ? "VALID" : "INVALID")}, {m.RequestsPerS:0.##} req/s, p99 {m.LatencyMs?.P99:0.###} ms -> {o.Path}"));
            ReportRescue(o, error);
            return o;
        };
    }

    /// <summary>Says on stderr why a result is not where it was asked for, and where it went.</summary>
    internal static void ReportRescue(RunOutcome outcome, TextWriter error)
    {
        if (outcome.Rescue is { } rescue)
        {
            error.WriteLine($"harness: {rescue}");
        }
    }

    /// <summary>The table printed after a multi-run job: one row per point, then the search's finding.</summary>
    internal static string SweepSummary(SweepOutcome outcome)
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new System.Text.StringBuilder();
        SweepIndex index = outcome.Index;
        sb.Append(c, $"### {index.Workload} on {index.Backend}: {index.Kind} ({index.Points.Count} point(s), {index.Status})\n\n");
        var table = new MarkdownTable(MarkdownColumn.Left("point"), MarkdownColumn.Left("scenario"), MarkdownColumn.Left("verdict"),
            MarkdownColumn.Right("req/s"), MarkdownColumn.Right("throughput/s"), MarkdownColumn.Right("p50 ms"),
            MarkdownColumn.Right("p99 ms"), MarkdownColumn.Right("goodput/s"));
        foreach (SweepIndexEntry p in index.Points)
        {
            if (p.Error is { } why)
            {
                table.Row(p.Label, p.Scenario, "FAILED: " + why, "-", "-", "-", "-", "-");
                continue;
            }

            table.Row(p.Label, p.Scenario, p.Valid ? "VALID" : "INVALID", p.RequestsPerS.ToString("0.##", c),
                p.ThroughputPerS.ToString("0.##", c), string.Create(c, $"{p.LatencyP50Ms:0.###}"), string.Create(c, $"{p.LatencyP99Ms:0.###}"),
                p.GoodputPerS is { } g ? g.ToString("0.##", c) : "-");
        }

        table.AppendTo(sb);

        if (index.Search is { } s)
        {
            sb.Append(c, $"\nSLO search ({string.Join(", ", index.Slo ?? [])}): {s.Detail}.\n");
        }

        sb.Append(c, $"\nIndex: {outcome.IndexPath}\n");
        return sb.ToString();
    }

    private static T[] ParseList<T>(string text, string option, Func<string, T> parse, Func<T, bool> valid)
    {
        var values = new List<T>();
        foreach (string part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            T v;
            try
            {
                v = parse(part);
            }
            catch (FormatException)
            {
                throw HarnessException.BadInput($"{option} '{text}' has '{part}', which is not a number; give a comma-separated list such as 1,2,4.");
            }
            catch (OverflowException)
            {
                throw HarnessException.BadInput($"{option} '{text}' has '{part}', which is out of range.");
            }

            if (!valid(v))
            {
                throw HarnessException.BadInput($"{option} '{text}' has '{part}', which is out of range.");
            }

            values.Add(v);
        }

        return values.Count > 0 ? values.ToArray() : throw HarnessException.BadInput($"{option} '{text}' lists no value.");
    }

    private static double ParsePrecision(string text)
    {
        string t = text.Trim().TrimEnd('%');
        if (!double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || v <= 0 || v >= 100)
        {
            throw HarnessException.BadInput($"--search-precision '{text}' must be a percentage between 0% and 100%, e.g. 5%.");
        }

        return v / 100;
    }
}
