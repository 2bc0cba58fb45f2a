using System.CommandLine;
using Harness.Reports;
using Harness.Results;

namespace Harness.Cli.Commands;

/// <summary><c>harness report RESULTS... --html FILE</c>: one self-contained HTML page with SVG charts.</summary>
public static class ReportCommand
{
    public static Command Create(TextWriter output)
    {
        var results = new Argument<string[]>("results") { Description = "Result files, folders (e.g. a sweep's) or globs.", Arity = ArgumentArity.OneOrMore };
        var html = new Option<string>("--html") { Description = "The HTML file to write (self-contained: no scripts, fonts or styles from elsewhere).", Required = true };
        var title = new Option<string?>("--title") { Description = "Title of the page (default: from the results)." };
        var command = new Command("report", "Write an HTML report of result files: latency CDF, throughput scaling, latency-throughput frontier, telemetry and roofline when present.")
        {
            results, html, title,
        };
        command.SetAction(parse =>
        {
            var loaded = (parse.GetValue(results) ?? []).SelectMany(spec => ResultReader.ReadAll(spec)).DistinctBy(r => Path.GetFullPath(r.Path)).ToList();
            string path = parse.GetValue(html)!;
            if (Directory.Exists(path))
            {
                throw HarnessException.BadInput($"--html '{path}' is a folder; give a file name such as {Path.Combine(path, "report.html")}.");
            }

            AtomicFile.WriteAllText(path, HtmlReport.Render(loaded, parse.GetValue(title)));
            output.WriteLine($"Report of {loaded.Count} result(s): {path}");
            return ExitCodes.Ok;
        });
        return command;
    }
}
