using System.Net;
using System.Text.Json;

namespace Harness.Serving.Tests;

/// <summary>
/// SIGTERM on <c>harness serve</c> (a child process, the latency model): new requests get 503, a
/// stream that can finish within the deadline finishes, one that cannot is cancelled at the
/// deadline (finish_reason "abort"), and the process exits 0.
/// </summary>
public class ShutdownTests
{
    [Fact]
    public async Task Sigterm_drains_the_streams_in_flight_and_exits_0()
    {
        using ChildServer server = await ChildServer.StartAsync("--backend", "latency-model", "--model-config", "gpt2-124m", "--shutdown-timeout", "3s");
        async Task<string?> Finish(int tokens)
        {
            (HttpResponseMessage r, List<string> events) = await Api.StreamAsync(server.Http, "/v1/completions", new { prompt = "x", max_tokens = tokens, ignore_eos = true, stream = true });
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            Assert.Equal("[DONE]", events[^1]);
            return JsonDocument.Parse(events[^2]).RootElement.GetProperty("choices")[0].GetProperty("finish_reason").GetString();
        }

        // The latency model's decode step is about 6 ms: 100 tokens finish well within 3 s, 1000 do not.
        // The long one runs first and the short one is long enough to be seen running beside it (at 20
        // tokens it could end before a scrape on a loaded machine saw two running, and the wait failed).
        double Running() => Api.Value(Api.MetricsAsync(server.Http).Result, "vllm:num_requests_running");
        Task<string?> longOne = Finish(1000);
        await ApiTests.WaitUntil(() => Running() == 1);
        Task<string?> shortOne = Finish(100);
        await ApiTests.WaitUntil(() => Running() == 2);
        Task<int> exit = server.SignalAndWaitAsync(15, TimeSpan.FromMinutes(1));
        await ApiTests.WaitUntil(() => server.Output.Contains("stopping", StringComparison.Ordinal));
        HttpResponseMessage refused = await server.Http.PostAsync("/v1/completions", Api.Json(new { prompt = "late", max_tokens = 2 }));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);

        Assert.Equal("length", await shortOne);
        Assert.Equal("abort", await longOne);
        Assert.Equal(0, await exit);
        Assert.Contains("stopped", server.Output, StringComparison.Ordinal);
    }

    /// <summary>
    /// <c>./run.sh serve ... &amp;</c> then <c>kill PID</c>: run.sh execs the harness, so the PID it was
    /// started as is the server's, SIGTERM reaches it, and nothing is left serving on the port.
    /// </summary>
    [Fact]
    public async Task Sigterm_to_the_pid_of_run_sh_stops_the_server()
    {
        using ChildServer server = await ChildServer.StartThroughRunShAsync("--backend", "latency-model", "--model-config", "gpt2-124m");
        Assert.Equal(HttpStatusCode.OK, (await server.Http.GetAsync("/health")).StatusCode);
        string command = File.ReadAllText($"/proc/{server.Pid}/cmdline").Replace('\0', ' ');
        Assert.Contains("harness.dll serve", command, StringComparison.Ordinal);

        // Bounded: the drain has no request to wait for; a minute is for a loaded machine.
        Assert.Equal(0, await server.SignalAndWaitAsync(15, TimeSpan.FromMinutes(1)));
        Assert.Contains("stopped", server.Output, StringComparison.Ordinal);
        using var probe = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        await Assert.ThrowsAsync<HttpRequestException>(() => probe.GetAsync(new Uri(server.Address, "/health")));
    }
}
