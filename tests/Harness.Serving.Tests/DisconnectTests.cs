namespace Harness.Serving.Tests;

/// <summary>Clients that go away mid-stream cancel their sequences: every slot comes back, and the metrics say so.</summary>
public class DisconnectTests
{
    [Fact]
    public async Task Fifty_clients_that_disconnect_mid_stream_leave_no_slot_in_use()
    {
        const int clients = 50;
        await using InProcessServer s = await InProcessServer.StartAsync(model: "gpt2-124m", maxBatch: 8, maxQueue: 64);
        async Task DisconnectAfterFirstToken(int i)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions")
            {
                Content = Api.Json(new { prompt = $"client {i} says", max_tokens = 200, ignore_eos = true, stream = true }),
            };
            using var cts = new CancellationTokenSource();
            using HttpResponseMessage response = await s.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);
            Assert.True(response.IsSuccessStatusCode, $"client {i}: {(int)response.StatusCode}");
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cts.Token));
            while (await reader.ReadLineAsync(cts.Token) is { } line)
            {
                if (line.StartsWith("data: {", StringComparison.Ordinal))
                {
                    break;
                }
            }

            await cts.CancelAsync(); // and the response is disposed: the connection is gone
        }

        await Task.WhenAll(Enumerable.Range(0, clients).Select(DisconnectAfterFirstToken));
        await ApiTests.WaitUntil(() => s.Server.InFlight == 0 && s.Endpoint.Occupancy.SlotsInUse == 0);

        Dictionary<string, double> m = await Api.MetricsAsync(s.Http);
        Assert.Equal(0, Api.Value(m, "harness_serve_kv_cache_slots_in_use"));
        Assert.Equal(0, Api.Value(m, "vllm:num_requests_running"));
        Assert.Equal(0, Api.Value(m, "vllm:num_requests_waiting"));
        double aborted = Api.Value(m, "vllm:request_success_total", "\"abort\"");
        double finished = Api.Value(m, "vllm:request_success_total", "\"length\"");
        Assert.Equal(clients, aborted + finished);
        Assert.True(aborted >= clients / 2, $"only {aborted} of {clients} were cancelled (the others finished their 200 tokens first)");
    }
}
