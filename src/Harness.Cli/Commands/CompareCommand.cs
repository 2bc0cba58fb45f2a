using System.CommandLine;
using Harness.Gate;

namespace Harness.Cli.Commands;

/// <summary><c>harness compare BASE CURRENT</c>: the CI performance gate over result files.</summary>
public static class CompareCommand
{
    public static Command Create(TextWriter output)
    {
        var baseline = new Argument<string>("base") { Description = "Baseline results: a result file, a folder of them (e.g. a --repeat folder), or a glob such as 'base/*.json'." };
        var current = new Argument<string>("current") { Description = "Candidate results, in the same forms." };
        var gate = new GateOptionSet();
        var command = new Command("compare",
            "Compare CURRENT against BASE metric by metric: a regression must be statistically significant AND beyond its threshold. "
            + "Exit 0 pass, 1 regression, 2 bad input, 3 inconclusive (too few samples).")
        {
            baseline, current,
        };
        gate.AddTo(command);
        command.SetAction(parse =>
        {
            GateOptions options = gate.Build(parse);
            GateReport report = RegressionGate.CompareFiles(parse.GetValue(baseline)!, parse.GetValue(current)!, options);
            return gate.Report(parse, report, output);
        });
        return command;
    }
}
