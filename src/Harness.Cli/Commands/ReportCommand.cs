using System.CommandLine;
using Harness.Reports;
using Harness.Results;

namespace Harness.Cli.Commands;

/// <summary><c>harness report RESULTS... --html FILE</c>: one self-contained HTML page with SVG charts.</summary>
public static class ReportCommand
{
    public static Command Create(TextWriter output)
    {
        var results = new Argument<string[]>("results") { Description = "Result files, folders (a sweep's, a repeat's, an agents sweep's), globs, or agents-sweep JSON files.", Arity = ArgumentArity.OneOrMore };
        var html = new Option<string>("--html") { Description = "The HTML file to write (self-contained: nothing is fetched from elsewhere).", Required = true };
        var title = new Option<string?>("--title") { Description = "Title of the page (default: from the results)." };
        var prices = new PriceOptions();
        var command = new Command("report", "Write an HTML report of results and agents sweeps: latency, TTFT/TPOT/ITL, throughput, goodput, MFU/MBU, energy and cost, the agents' cores-per-GPU curve, serving and telemetry timelines; runs grouped and filtered in the page.")
        {
            results, html, title,
        };
        prices.AddTo(command);
        command.SetAction(parse =>
        {
            string path = parse.GetValue(html)!;
            if (Directory.Exists(path))
            {
                throw HarnessException.BadInput($"--html '{path}' is a folder; give a file name such as {Path.Combine(path, "report.html")}.");
            }

            ReportInput input = ReportInput.Read(parse.GetValue(results) ?? []) with
            {
                Title = parse.GetValue(title),
                Offer = prices.Resolve(parse).Chosen,
            };
            AtomicFile.WriteAllText(path, HtmlReport.Render(input));
            output.WriteLine($"Report of {input.Results.Count} result(s) and {input.Sweeps.Count} agents sweep(s): {path}");
            return ExitCodes.Ok;
        });
        return command;
    }
}
