using System.Diagnostics;
using System.Globalization;
using Harness.Decoding;
using Harness.Metrics;
using Harness.Results;

namespace Harness.Serving.Bench;

/// <summary>One side's figures in one repetition; the server's CPU and the client's checks only on the served side.</summary>
internal sealed record Side(ResultDocument Result, double TtftP50, double TpotP50)
{
    /// <summary>The server's CPU outside the decoder and in it, per generated token, over the client's measured window.</summary>
    public (double Serving, double Decoder)? ServerCpuUsPerToken { get; init; }

    public double? ClientCpuUsPerToken => Result.Metrics.Value(MetricCatalog.ClientCpuUsPerToken);

    /// <summary>Prompt tokens per request as the server counted them (usage); null in-process.</summary>
    public double? PromptTokensServer =>
        Result.Serving is { RequestsWithUsage: > 0 } s ? (double)s.PromptTokensServer / s.RequestsWithUsage : null;

    private string Invalid => "invalid: " + string.Join(", ", Result.Validity.Where(v => !v.Passed).Select(v => v.Name));

    /// <summary>What a reader of this repetition should know: failed validity conditions, a prompt or output that did not match.</summary>
    public IEnumerable<string> Notes(Cell cell)
    {
        if (!Result.Valid)
        {
            yield return Invalid;
        }

        if (PromptTokensServer is { } p && Math.Abs(p - cell.PromptTokens) > 0.01)
        {
            yield return string.Create(
                CultureInfo.InvariantCulture, $"server counted {p:0.#} prompt tokens per request, not {cell.PromptTokens}");
        }

        if (Result.Serving is { } s && s.OutputLengthHeld != s.RequestsOk)
        {
            yield return $"{s.RequestsOk - s.OutputLengthHeld} of {s.RequestsOk} requests not held at {cell.NewTokens} new tokens";
        }
    }

    public override string ToString()
    {
        string cpu = ServerCpuUsPerToken is var (serving, decoder)
            ? string.Create(CultureInfo.InvariantCulture, $", server CPU {serving:0.0} µs/token outside the decoder, {decoder:0.0} in it")
            : "";
        string invalid = Result.Valid ? "" : "; " + Invalid;
        return string.Create(
            CultureInfo.InvariantCulture,
            $"TTFT p50 {TtftP50:0.00} ms, TPOT p50 {TpotP50:0.00} ms ({Result.Metrics.RequestsOk} requests{cpu}{invalid})");
    }

    public static Side Of(ResultDocument doc) =>
        new(doc, doc.Metrics.TtftMs?.P50 ?? double.NaN, doc.Metrics.TpotMs?.P50 ?? double.NaN);
}

/// <summary><c>harness run generate</c> in-process at batch C: one request is C sequences prefilled together, then decoded.</summary>
internal static class InProcess
{
    public static Side Run(BenchOptions o, Cell cell) => Side.Of(Cli.RunToResult(o, "run generate in-process",
    [
        "run", "generate", .. o.DecoderArgs(cell), "--prompt-tokens", $"{cell.PromptTokens}", "--new-tokens", $"{cell.NewTokens}",
        "--batch", $"{cell.Concurrency}", .. o.WarmupArgs(o.WarmupRounds), "--min-requests", $"{BenchOptions.Rounds(cell)}",
        "--duration", "0s", "--tail", "p50", "--no-telemetry",
    ]));
}

/// <summary>
/// <c>harness serve</c> (the same decoder, C slots, a batch window so that a round's requests join one
/// iteration as generate's batch does) driven by the harness's own client in its own process:
/// <c>run generate --backend openai:URL --scenario concurrency:C</c> on the completions route, each
/// prompt the synthetic dataset's text of exactly P one-token words (the server's tokenizer counts
/// them; the result's <c>serving.prompt_tokens_server</c> says so), <c>ignore_eos</c> and
/// <c>max_tokens</c> = N, greedy. TTFT and TPOT p50 come from the client's result file, as the
/// in-process side's do. The server's CPU is read per thread from /proc over the client's measured
/// window (<see cref="CpuTrace"/>); the client's own CPU is another process's.
/// </summary>
internal static class Served
{
    public static async Task<Side> RunAsync(BenchOptions o, Cell cell)
    {
        int c = cell.Concurrency;
        var ready = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        using Process server = Cli.Start(
            o,
            ["serve", .. o.DecoderArgs(cell), "--port", "0", "--max-batch", $"{c}", "--max-queue", $"{c}", "--batch-window", o.BatchWindow],
            line =>
            {
                int at = line.IndexOf(" on http://", StringComparison.Ordinal);
                if (at > 0)
                {
                    ready.TrySetResult(new Uri(line[(at + 4)..].Split(' ')[0]));
                }
            },
            line => Console.Error.WriteLine("  serve: " + line));
        server.EnableRaisingEvents = true;
        server.Exited += (_, _) => ready.TrySetException(new InvalidOperationException("harness serve exited before it listened."));
        try
        {
            Uri address = await ready.Task.WaitAsync(TimeSpan.FromMinutes(10));
            using var trace = CpuTrace.Start(server.Id);
            ResultDocument doc = Cli.RunToResult(o, "run generate against harness serve",
            [
                "run", "generate", "--backend", $"openai:{new Uri(address, "v1")}", "--model-config", cell.Model,
                "--prompt-tokens", $"{cell.PromptTokens}", "--new-tokens", $"{cell.NewTokens}", "--scenario", $"concurrency:{c}",
                "--set", "api=completions", "--server-metrics", "off",
                .. o.WarmupArgs(o.WarmupRounds * c), "--min-requests", $"{BenchOptions.Rounds(cell) * c}",
                "--duration", "0s", "--tail", "p50", "--no-telemetry",
            ]);
            trace.Stop();
            DateTime opened = doc.StartedUtc;
            CpuSplit before = trace.At(opened), after = trace.At(opened.AddSeconds(doc.Metrics.DurationS));
            double tokens = doc.Serving is { OutputTokensServer: > 0 } s ? s.OutputTokensServer : doc.Metrics.OutputUnits;
            double serving = (after.Serving - before.Serving).TotalMicroseconds;
            double decoder = (after.Decoder - before.Decoder).TotalMicroseconds;
            return Side.Of(doc) with { ServerCpuUsPerToken = tokens > 0 ? (serving / tokens, decoder / tokens) : null };
        }
        finally
        {
            server.Kill();
            await server.WaitForExitAsync();
        }
    }
}

/// <summary>The harness CLI as a child process.</summary>
internal static class Cli
{
    public static Process Start(BenchOptions o, IEnumerable<string> args, Action<string> stdout, Action<string> stderr)
    {
        var psi = new ProcessStartInfo(o.Dotnet) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("exec");
        psi.ArgumentList.Add(o.Harness);
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        Process p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {o.Dotnet}");
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) stdout(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) stderr(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    /// <summary>Runs <paramref name="args"/> to its end and reads its result file (kept only as long as it is read).</summary>
    public static ResultDocument RunToResult(BenchOptions o, string what, IEnumerable<string> args)
    {
        string path = Path.Combine(Path.GetTempPath(), $"serving-tax-{Environment.ProcessId}-{Guid.NewGuid():N}.json");
        var tail = new Queue<string>();
        void Keep(string line)
        {
            lock (tail)
            {
                tail.Enqueue(line);
                if (tail.Count > 30)
                {
                    tail.Dequeue();
                }
            }
        }

        using Process p = Start(o, [.. args, "--out", path], Keep, Keep);
        p.WaitForExit();
        if (!File.Exists(path))
        {
            throw new InvalidOperationException($"{what} exited {p.ExitCode} without a result; its last lines:\n{string.Join('\n', tail)}");
        }

        try
        {
            return ResultReader.ReadDocument(path);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
