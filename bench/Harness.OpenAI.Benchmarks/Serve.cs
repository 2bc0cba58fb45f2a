using System.Globalization;
using Harness.OpenAI.Tests.Server;

namespace Harness.OpenAI.Benchmarks;

/// <summary>The synthetic model behind the tests' Kestrel server, as a process of its own (for runs through ./run.sh).</summary>
internal static class Serve
{
    public static async Task<int> Run(string[] args)
    {
        int port = 8000;
        double ttft = 20, tpot = 5;
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            double v = double.Parse(args[i + 1], CultureInfo.InvariantCulture);
            switch (args[i])
            {
                case "--port": port = (int)v; break;
                case "--ttft-ms": ttft = v; break;
                case "--tpot-ms": tpot = v; break;
                default: Console.Error.WriteLine($"serve: unknown option {args[i]}"); return 2;
            }
        }

        var model = new SyntheticModel { Ttft = TimeSpan.FromMilliseconds(ttft), Tpot = TimeSpan.FromMilliseconds(tpot) };
        await using OpenAiTestServer server = await OpenAiTestServer.StartAsync(port);
        server.Handler = model.Handle;
        server.MetricsText = model.Metrics;
        Console.WriteLine($"serving test-model at {server.BaseUrl} (TTFT {ttft} ms, TPOT {tpot} ms); /metrics in vLLM's names; Ctrl-C or SIGTERM stops");
        using var stop = new CancellationTokenSource();
        using var sigint = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
        using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
        try
        {
            await Task.Delay(Timeout.Infinite, stop.Token);
        }
        catch (OperationCanceledException)
        {
        }

        Console.WriteLine($"served {model.Finished} requests");
        return 0;
    }
}
