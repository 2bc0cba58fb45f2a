using System.CommandLine;
using Harness.Gate;

namespace Harness.Cli.Commands;

/// <summary><c>harness history DIR --metric p50</c>: a metric over past runs, oldest first, with its change points.</summary>
public static class HistoryCommand
{
    public static Command Create(TextWriter output)
    {
        var folder = new Argument<string>("dir") { Description = "Folder of past runs of one measurement (sub-folders too), e.g. the results a CI job kept run after run." };
        var metric = new Option<string>("--metric") { Description = "The metric to follow: p50 (latency_p50), latency_p99, ttft_p50, throughput...", DefaultValueFactory = _ => "p50" };
        var window = new Option<int>("--window") { Description = "Newest runs kept.", DefaultValueFactory = _ => 200 };
        var alpha = new Option<double>("--alpha") { Description = "Significance of a change point (permutation test).", DefaultValueFactory = _ => 0.01 };
        var command = new Command("history", "Print a metric over past runs (oldest first) and any change point, with its date and run. Exit 0, 2 bad input.")
        {
            folder, metric, window, alpha,
        };
        command.SetAction(parse =>
        {
            double a = parse.GetValue(alpha);
            if (a is <= 0 or >= 0.5)
            {
                throw HarnessException.BadInput("--alpha must lie in (0, 0.5), e.g. 0.01.");
            }

            output.Write(HistorySeries.Render(HistorySeries.Read(parse.GetValue(folder)!, parse.GetValue(metric)!, parse.GetValue(window), a)));
            return ExitCodes.Ok;
        });
        return command;
    }
}
