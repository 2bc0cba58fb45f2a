using System.CommandLine;
using Harness.Fleet;
using Harness.Reports;
using Harness.Results;

namespace Harness.Cli.Commands;

/// <summary><c>harness merge DIR</c>: one fleet summary from many result files.</summary>
public static class MergeCommand
{
    /// <summary>The merge options, shared with <c>slurm collect</c>.</summary>
    internal sealed record Options(Option<string?> Out, Option<double> K, Option<double> MinDeviation, Option<string?> Html)
    {
        public IEnumerable<Option> All => [Out, K, MinDeviation, Html];

        public MergeOptions Read(ParseResult parse) => new MergeOptions
        {
            K = parse.GetValue(K),
            MinDeviation = parse.GetValue(MinDeviation),
        }.Validate();
    }

    internal static Options CreateOptions() => new(
        new Option<string?>("--out", "-o") { Description = "Summary file (default: DIR/fleet-summary.json)." },
        new Option<double>("--k") { Description = "Robust deviations (MAD x 1.4826) from the fleet median that flag a node.", DefaultValueFactory = _ => 3.5 },
        new Option<double>("--min-deviation") { Description = "Smallest relative distance from the median that is flagged (noise floor).", DefaultValueFactory = _ => 0.02 },
        new Option<string?>("--html") { Description = "Also write the fleet as a self-contained HTML page to this file: every node, the spread of each metric with the flagged outliers, the hardware groups." });

    public static Command Create(TextWriter output, TextWriter error)
    {
        var folder = new Argument<string>("results") { Description = "Folder of result files: a fleet's results folder, or any folder of result *.json files." };
        var expect = new Option<int?>("--expect") { Description = "Tasks the fleet ran (0..N-1), so that missing ones are listed; default: from fleet.json or the exit records." };
        Options options = CreateOptions();
        var command = new Command("merge", "Merge many nodes' results into one fleet summary: per-node figures, aggregate, spread, outliers; missing and failed tasks listed. Exit 0 healthy, 1 a node needs attention, 2 bad input.")
        {
            folder, expect,
        };
        foreach (Option o in options.All)
        {
            command.Add(o);
        }

        command.SetAction(parse =>
        {
            string dir = parse.GetValue(folder)!;
            MergeOptions merge = options.Read(parse) with { ExpectedTasks = parse.GetValue(expect) };
            string summaryPath = parse.GetValue(options.Out) ?? new FleetLayout(dir).SummaryPath;
            FleetSummary summary = FleetMerge.Merge(dir, merge.Validate());
            ResultWriter.EnsureWritable(summaryPath); // after the merge has checked the folder, so that a missing one is not created

            return Report(summary, summaryPath, output, error, parse.GetValue(options.Html));
        });
        return command;
    }

    internal static int Report(FleetSummary summary, string path, TextWriter output, TextWriter error, string? html = null)
    {
        WrittenResult written = FleetMerge.Write(summary, path);
        if (html is not null)
        {
            AtomicFile.WriteAllText(html, FleetView.Render(summary));
        }

        output.Write(FleetMarkdown.Render(summary, written.Path));
        if (written.RescueMessage is { } rescue)
        {
            error.WriteLine($"harness: {rescue}");
            return ExitCodes.Invalid;
        }

        return summary.Healthy ? ExitCodes.Ok : ExitCodes.Invalid;
    }
}
