using System.CommandLine;
using System.Globalization;
using System.Text;
using Harness.Gate;
using Harness.Results;
using Harness.Trust.Noise;

namespace Harness.Cli.Commands;

/// <summary><c>harness compare BASE CURRENT</c>: the CI performance gate over result files, with the run as the unit of evidence.</summary>
public static class CompareCommand
{
    public static Command Create(TextWriter output)
    {
        var baseline = new Argument<string>("base") { Description = "Baseline results: a result file, a folder of them (a --repeat folder), a glob such as 'base/*.json', or with --history a folder of past runs." };
        var current = new Argument<string?>("current") { Description = "Candidate results, in the same forms (not needed with --plan-runs).", Arity = ArgumentArity.ZeroOrOne };
        var history = new Option<bool>("--history") { Description = "BASE is a history of past runs (sub-folders too): the newest --window runs like the current one are the baseline and their run-to-run spread the noise model." };
        var window = new Option<int>("--window") { Description = "Past runs kept from a history, newest first.", DefaultValueFactory = _ => RunHistory.DefaultWindow };
        var noiseModel = new Option<string?>("--noise-model") { Description = "A folder of past runs whose run-to-run spread judges the sides when they are too few to measure their own (e.g. one run per side)." };
        var planRuns = new Option<string?>("--plan-runs") { Description = "Instead of gating, say how many runs per side would detect a change of this size (e.g. 5%), from the run-to-run spread of the runs given." };
        var gate = new GateOptionSet();
        var command = new Command("compare",
            "Compare CURRENT against BASE metric by metric, each run one observation: a regression must be statistically significant AND beyond its threshold. "
            + "Exit 0 pass, 1 regression, 2 bad input (including runs not like for like), 3 inconclusive (too few runs, no measured run-to-run spread, a disturbed run).")
        {
            baseline, current, history, window, noiseModel, planRuns,
        };
        gate.AddTo(command);
        command.SetAction(parse =>
        {
            GateOptions options = gate.Build(parse) with
            {
                BaseIsHistory = parse.GetValue(history),
                Window = parse.GetValue(window),
                NoiseModelFolder = parse.GetValue(noiseModel),
            };
            if (parse.GetValue(planRuns) is { } plan)
            {
                return Plan(parse.GetValue(baseline)!, parse.GetValue(current), plan, options.Validated(), output);
            }

            string currentSpec = parse.GetValue(current) ?? throw HarnessException.BadInput("compare needs BASE and CURRENT (only --plan-runs works from BASE alone).");
            GateReport report = RegressionGate.CompareFiles(parse.GetValue(baseline)!, currentSpec, options);
            return gate.Report(parse, report, output);
        });
        return command;
    }

    private static int Plan(string baseSpec, string? currentSpec, string change, GateOptions options, TextWriter output)
    {
        double pct = double.TryParse(change.Trim().TrimEnd('%'), NumberStyles.Float, CultureInfo.InvariantCulture, out double v)
            ? v
            : throw HarnessException.BadInput($"--plan-runs '{change}' is not a percentage; write e.g. 5%.");
        IReadOnlyList<ResultDocument> b = options.BaseIsHistory
            ? RunHistory.Read(baseSpec, options.Window).Runs.Select(r => r.Document).ToList()
            : ResultReader.ReadAll(baseSpec, "base").Select(r => r.Document).ToList();
        IReadOnlyList<ResultDocument>? c = currentSpec is null ? null : ResultReader.ReadAll(currentSpec, "current").Select(r => r.Document).ToList();
        IReadOnlyList<ResultDocument>? n = options.NoiseModelFolder is { } folder ? RunHistory.Read(folder, options.Window, b[0]).Runs.Select(r => r.Document).ToList() : null;
        var sb = new StringBuilder();
        var ci = CultureInfo.InvariantCulture;
        if (c is not null && !options.BaseIsHistory && DuetGate.Applies(b, c))
        {
            (NoiseModel noise, int? pairs, double five, bool ignores) = DuetGate.PlanPairs(b, c, pct, options);
            string count = pairs is { } k ? k.ToString(ci) : $"more than {RunPlanning.MaxRunsPerSide}";
            double threshold = options.ThresholdFor("throughput");
            string note = ignores
                ? string.Create(ci, $" (significance only: at the {threshold:0.##}% threshold a {pct:0.##}% change is never a regression)")
                : "";
            sb.Append(ci, $"harness compare --plan-runs {pct:0.##}%: duet pairs to find a {pct:0.##}% change ");
            sb.Append(ci, $"with {options.Power:0%} power at alpha {options.Alpha} (duet design: t-test over pair ratios)\n\n");
            sb.Append(ci, $"- throughput: {count} pairs{note}; {noise.Describe()}; 5 pairs detect {five:0.#}% or more.\n");
            output.Write(sb.ToString());
            return ExitCodes.Ok;
        }

        sb.Append(ci, $"harness compare --plan-runs {pct:0.##}%: runs per side to find a {pct:0.##}% change ");
        sb.Append(ci, $"with {options.Power:0%} power at alpha {options.Alpha} (interleaved design: rank test over runs)\n\n");
        foreach (RegressionGate.RunPlan p in RegressionGate.PlanRuns(b, c, n, pct, options))
        {
            string runs = p.RunsPerSide is { } k ? k.ToString(ci) : $"more than {RunPlanning.MaxRunsPerSide}";
            string threshold = p.IgnoresThreshold
                ? string.Create(ci, $" (significance only: at the {options.ThresholdFor(p.Metric):0.##}% threshold a {pct:0.##}% change is never a regression; lower it with --threshold {p.Metric}=PCT)")
                : "";
            sb.Append(ci, $"- {p.Metric}: {runs} runs per side{threshold}; {p.Noise.Describe()}; 5 runs per side detect {p.SmallestWithFive:0.#}% or more.\n");
        }

        output.Write(sb.ToString());
        return ExitCodes.Ok;
    }
}
