using System.Globalization;
using Harness.Serving.Bench;

// The serving tax on one machine, side by side: for each model, backend and concurrency C, the same
// decoder through `harness run generate` in-process (batch C) and through `harness serve` driven by
// the harness's own client (`run generate --backend openai:URL`, C requests in flight), interleaved
// (in-process, served, in-process, served...) for a number of repetitions; then the table of their
// TTFT and TPOT p50s against the targets, and the server's CPU outside the decoder per token.
// Usage: see bench/README.md.
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
BenchOptions o;
try
{
    o = BenchOptions.Parse(args);
}
catch (FormatException e)
{
    Console.Error.WriteLine($"serving-tax: {e.Message}");
    return 2;
}

var report = new TaxReport(o, args);
Console.WriteLine(report.Heading());
try
{
    foreach (Cell cell in o.Cells())
    {
        for (int rep = 1; rep <= o.Reps; rep++)
        {
            Side inProcess = InProcess.Run(o, cell);
            Console.WriteLine($"  {cell} rep {rep}: in-process {inProcess}");
            Side served = await Served.RunAsync(o, cell);
            Console.WriteLine($"  {cell} rep {rep}: served     {served}");
            report.Add(cell, rep, inProcess, served);
        }
    }
}
catch (Exception e) when (e is InvalidOperationException or TimeoutException)
{
    Console.Error.WriteLine($"serving-tax: {e.Message}");
    return 1;
}

string markdown = report.Markdown();
Console.WriteLine();
Console.Write(markdown);
if (o.Out != "-")
{
    string path = o.Out ?? report.DefaultPath();
    Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
    File.WriteAllText(path, markdown);
    Console.WriteLine($"written to {path}");
}

return 0;
