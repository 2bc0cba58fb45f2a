using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using Harness.Models;
using Harness.Results;

// The serving tax on one machine, side by side: the same model and prompt length through
// `harness run generate` in-process (batch C) and through `harness serve` plus this program's own
// minimal streaming client (C clients at once), at each concurrency; then the server's CPU outside
// the decoder per streamed token. Usage: see bench/README.md.
var o = BenchOptions.Parse(args);
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
Console.WriteLine($"serving tax: {o.Backend} {o.Model}, prompt {o.PromptTokens}, new {o.NewTokens}, {o.Requests} requests per point, threads {o.Threads?.ToString(CultureInfo.InvariantCulture) ?? "default"}");
var rows = new List<string>();
foreach (int c in o.Concurrency)
{
    (double genTtft, double genTpot) = Generate.Run(o, c);
    Served served = await Serve.RunAsync(o, c);
    double ttftOver = served.TtftP50 - genTtft, tpotOver = served.TpotP50 - genTpot;
    double ttftTarget = Math.Max(1.0, 0.05 * genTtft), tpotTarget = 0.03 * genTpot;
    rows.Add(string.Create(CultureInfo.InvariantCulture,
        $"| {c} | {genTtft:0.00} | {served.TtftP50:0.00} | {ttftOver:+0.00;-0.00} ({100 * ttftOver / genTtft:+0.0;-0.0}%) | <= {ttftTarget:0.00} {(ttftOver <= ttftTarget ? "met" : "MISSED")} | {genTpot:0.00} | {served.TpotP50:0.00} | {tpotOver:+0.00;-0.00} ({100 * tpotOver / genTpot:+0.0;-0.0}%) | <= {tpotTarget:0.00} {(tpotOver <= tpotTarget ? "met" : "MISSED")} | {served.ServingCpuUsPerToken:0.0} | {served.DecoderCpuUsPerToken:0.0} |"));
}

Console.WriteLine();
Console.WriteLine("| concurrency | TTFT p50 generate ms | TTFT p50 served ms | TTFT overhead ms | target | TPOT p50 generate ms | TPOT p50 served ms | TPOT overhead ms | target | server CPU outside the decoder µs/token | decoder CPU µs/token |");
Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
rows.ForEach(Console.WriteLine);
return 0;

internal sealed record BenchOptions
{
    public string Harness { get; init; } = "src/Harness.Cli/bin/Release/net10.0/harness.dll";
    public string Backend { get; init; } = "onnx:cpu";
    public string Model { get; init; } = "gpt2-124m";
    public int PromptTokens { get; init; } = 128;
    public int NewTokens { get; init; } = 64;
    public int Requests { get; init; } = 24;
    public int[] Concurrency { get; init; } = [1, 8];
    public int? Threads { get; init; }

    public static BenchOptions Parse(string[] args)
    {
        var o = new BenchOptions();
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            string v = args[i + 1];
            o = args[i] switch
            {
                "--harness" => o with { Harness = v },
                "--backend" => o with { Backend = v },
                "--model-config" => o with { Model = v },
                "--prompt-tokens" => o with { PromptTokens = int.Parse(v, CultureInfo.InvariantCulture) },
                "--new-tokens" => o with { NewTokens = int.Parse(v, CultureInfo.InvariantCulture) },
                "--requests" => o with { Requests = int.Parse(v, CultureInfo.InvariantCulture) },
                "--concurrency" => o with { Concurrency = v.Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray() },
                "--threads" => o with { Threads = int.Parse(v, CultureInfo.InvariantCulture) },
                _ => throw new ArgumentException($"unknown option {args[i]}"),
            };
        }

        return o;
    }

    public IEnumerable<string> DecoderArgs()
    {
        string[] a = ["--backend", Backend, "--model-config", Model];
        return Threads is { } t ? a.Concat(["--threads", t.ToString(CultureInfo.InvariantCulture)]) : a;
    }

    public Process Start(IEnumerable<string> harnessArgs, bool redirect = true)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = redirect, RedirectStandardError = redirect };
        psi.ArgumentList.Add("exec");
        psi.ArgumentList.Add(Harness);
        foreach (string a in harnessArgs)
        {
            psi.ArgumentList.Add(a);
        }

        return Process.Start(psi)!;
    }
}

/// <summary><c>harness run generate</c> at batch C: its TTFT and TPOT p50 from the result file.</summary>
internal static class Generate
{
    public static (double TtftP50, double TpotP50) Run(BenchOptions o, int batch)
    {
        string path = Path.Combine(Path.GetTempPath(), $"serving-tax-generate-{Environment.ProcessId}-{batch}.json");
        using Process p = o.Start(["run", "generate", .. o.DecoderArgs(), "--prompt-tokens", $"{o.PromptTokens}", "--new-tokens", $"{o.NewTokens}", "--batch", $"{batch}",
            "--warmup-requests", "2", "--min-requests", $"{Math.Max(3, o.Requests / batch)}", "--duration", "0s", "--no-telemetry", "--out", path], redirect: false);
        p.WaitForExit();
        ResultDocument doc = ResultReader.ReadDocument(path);
        File.Delete(path);
        Console.WriteLine($"  generate batch {batch}: {doc.Metrics.RequestsOk} requests, TTFT p50 {doc.Metrics.TtftMs!.P50:0.00} ms, TPOT p50 {doc.Metrics.TpotMs!.P50:0.00} ms");
        return (doc.Metrics.TtftMs.P50, doc.Metrics.TpotMs.P50);
    }
}

internal sealed record Served(double TtftP50, double TpotP50, double ServingCpuUsPerToken, double DecoderCpuUsPerToken);

/// <summary>
/// <c>harness serve</c> and C clients of this program, in rounds of C requests at once
/// (completions with the prompt as token ids, ignore_eos, max_tokens = new tokens).
/// TTFT: request sent to the first token's chunk read; TPOT: first token's chunk to the last over
/// the tokens after the first. The server's CPU is read per thread from /proc over the measured
/// requests: threads the .NET runtime names (".NET TP Worker", ".NET SocketEngine", GC...) are
/// serving (Kestrel, JSON, SSE, tokenizer, scheduler handoff); the device thread and the runtime's
/// native threads (ONNX Runtime's or libtorch's) are the decoder.
/// </summary>
internal static class Serve
{
    public static async Task<Served> RunAsync(BenchOptions o, int clients)
    {
        // A batch window, so that a round's requests join one iteration as generate's batch does.
        using Process server = o.Start(["serve", .. o.DecoderArgs(), "--port", "0", "--max-batch", $"{clients}", "--max-queue", "0", "--batch-window", "20ms"]);
        var ready = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        server.OutputDataReceived += (_, e) =>
        {
            int at = e.Data?.IndexOf(" on http://", StringComparison.Ordinal) ?? -1;
            if (at > 0)
            {
                ready.TrySetResult(new Uri(e.Data![(at + 4)..].Split(' ')[0]));
            }
        };
        server.ErrorDataReceived += (_, e) => { if (e.Data is not null) Console.Error.WriteLine("  serve: " + e.Data); };
        server.BeginOutputReadLine();
        server.BeginErrorReadLine();
        Uri address = await ready.Task.WaitAsync(TimeSpan.FromMinutes(3));
        try
        {
            using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = clients, UseProxy = false }) { BaseAddress = address, Timeout = TimeSpan.FromMinutes(5) };
            var prompts = Enumerable.Range(0, clients).Select(i =>
            {
                var ids = new long[o.PromptTokens];
                GenerateSettings.FillPrompt(ids, 42 + i, ModelCatalog.Load(o.Model).Vocab);
                return Encoding.UTF8.GetBytes($"{{\"prompt\":[{string.Join(',', ids)}],\"max_tokens\":{o.NewTokens},\"ignore_eos\":true,\"stream\":true}}");
            }).ToArray();

            await Clients(http, prompts, 2);     // warm-up: JIT, the decoder's first passes
            CpuSplit cpu0 = CpuSplit.Read(server.Id);
            List<(double Ttft, double Tpot)> samples = await Clients(http, prompts, Math.Max(1, o.Requests / clients));
            CpuSplit cpu1 = CpuSplit.Read(server.Id);
            double tokens = samples.Count * (double)o.NewTokens;
            var ttft = samples.Select(s => s.Ttft).Order().ToArray();
            var tpot = samples.Select(s => s.Tpot).Order().ToArray();
            var result = new Served(ttft[ttft.Length / 2], tpot[tpot.Length / 2], (cpu1.Serving - cpu0.Serving).TotalMicroseconds / tokens, (cpu1.Decoder - cpu0.Decoder).TotalMicroseconds / tokens);
            Console.WriteLine($"  served {clients} clients: {samples.Count} requests, TTFT p50 {result.TtftP50:0.00} ms, TPOT p50 {result.TpotP50:0.00} ms, server CPU {result.ServingCpuUsPerToken:0.0} µs/token outside the decoder");
            return result;
        }
        finally
        {
            server.Kill();
            await server.WaitForExitAsync();
        }
    }

    /// <summary>
    /// Rounds of C requests sent at once, the next round when all have ended: the same batch as
    /// generate's (its C sequences prefill together and decode together), so that what differs is
    /// the serving, not the schedule.
    /// </summary>
    private static async Task<List<(double Ttft, double Tpot)>> Clients(HttpClient http, byte[][] prompts, int rounds)
    {
        var all = new List<(double, double)>();
        for (int r = 0; r < rounds; r++)
        {
            all.AddRange(await Task.WhenAll(prompts.Select(body => One(http, body))));
        }

        return all;
    }

    private static async Task<(double Ttft, double Tpot)> One(HttpClient http, byte[] body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        long sent = Stopwatch.GetTimestamp();
        using HttpResponseMessage response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        long first = 0, last = 0;
        int tokens = 0;
        while (await reader.ReadLineAsync() is { } line)
        {
            // A token's chunk: "finish_reason":null (the finish chunk names its reason).
            if (line.StartsWith("data: {", StringComparison.Ordinal) && line.Contains("\"finish_reason\":null", StringComparison.Ordinal))
            {
                last = Stopwatch.GetTimestamp();
                if (tokens++ == 0)
                {
                    first = last;
                }
            }
        }

        double ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;
        return (ms(first - sent), tokens > 1 ? ms(last - first) / (tokens - 1) : 0);
    }
}

/// <summary>
/// CPU time of a process, split by who spent it (see <see cref="Serve"/>): the decoder is the live
/// threads the .NET runtime did not name (the device thread, ONNX Runtime's or libtorch's pool: they
/// live as long as the server); serving is the rest of the process's time, which also counts the
/// thread-pool threads that ended in between (a sum over live threads would lose them).
/// </summary>
internal readonly record struct CpuSplit(TimeSpan Serving, TimeSpan Decoder)
{
    private const double TicksPerSecond = 100; // USER_HZ on Linux

    public static CpuSplit Read(int pid)
    {
        long decoder = 0;
        foreach (string task in Directory.GetDirectories($"/proc/{pid}/task"))
        {
            string stat;
            try
            {
                stat = File.ReadAllText(Path.Combine(task, "stat"));
            }
            catch (IOException)
            {
                continue; // the thread ended
            }

            (string comm, long ticks) = Parse(stat);
            if (!comm.StartsWith(".NET", StringComparison.Ordinal))
            {
                decoder += ticks;
            }
        }

        long total = Parse(File.ReadAllText($"/proc/{pid}/stat")).Ticks;
        return new CpuSplit(TimeSpan.FromSeconds((total - decoder) / TicksPerSecond), TimeSpan.FromSeconds(decoder / TicksPerSecond));
    }

    /// <summary>The name and utime + stime of a stat line ("pid (comm) state ... utime stime ...").</summary>
    private static (string Comm, long Ticks) Parse(string stat)
    {
        int open = stat.IndexOf('('), close = stat.LastIndexOf(')');
        string[] f = stat[(close + 2)..].Split(' ');
        return (stat[(open + 1)..close], long.Parse(f[11], CultureInfo.InvariantCulture) + long.Parse(f[12], CultureInfo.InvariantCulture));
    }
}
