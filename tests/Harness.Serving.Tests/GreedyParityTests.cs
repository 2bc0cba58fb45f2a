using System.Text.Json;
using Harness.Backends;
using Harness.Decoding;
using Harness.Engine;
using Harness.Engine.Scenarios;
using Harness.Models;
using Harness.Onnx;
using Harness.Testing;

namespace Harness.Serving.Tests;

/// <summary>
/// Serving changes nothing in what is generated: gpt2-124m's greedy ids through the server (a
/// KV-cache slot per sequence, continuous batching, HTTP) equal those of <c>run generate</c>
/// in-process (the fixed-shape batch) for the same prompt ids.
/// </summary>
public class GreedyParityTests
{
    [Fact]
    public async Task Greedy_ids_through_the_server_equal_generate_in_process()
    {
        TestCache.Ensure();
        const int promptTokens = 24, newTokens = 12;
        var options = new WorkloadOptions { Threads = 1, ModelConfig = ModelCatalog.Load("gpt2-124m"), PromptTokens = promptTokens, NewTokens = newTokens };
        long[] prompt;
        long[] generated;
        using (var workload = (GenerateWorkload)new OnnxBackendProvider().Create(GenerateWorkload.Name, BackendSpec.Parse("onnx:cpu"), options))
        {
            var settings = new RunSettings
            {
                Scenario = ScenarioParser.Parse("single"),
                Batch = 1,
                Warmup = WarmupRule.ForRequests(0),
                Stop = new StopRules(TimeSpan.Zero, 1, TimeSpan.FromMinutes(2)),
            };
            EngineResult run = new BenchmarkEngine().Run(workload, settings);
            Assert.True(run.OutputUnits >= newTokens, $"generate produced {run.OutputUnits} tokens");
            prompt = workload.Prompt(0).ToArray();
            generated = workload.Generated(0).ToArray();
        }

        Assert.Equal(newTokens, generated.Length);
        await using InProcessServer s = await InProcessServer.StartAsync(model: "gpt2-124m");
        // Two at once, so the decode steps run two slots with different lengths, as a loaded server does.
        Task<HttpResponseMessage> other = s.Http.PostAsync("/v1/completions", Api.Json(new { prompt = prompt[..7], max_tokens = newTokens + 5, ignore_eos = true }));
        HttpResponseMessage r = await s.Http.PostAsync("/v1/completions", Api.Json(new { prompt, max_tokens = newTokens, ignore_eos = true, return_token_ids = true }));
        JsonElement body = JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement;
        long[] served = body.GetProperty("choices")[0].GetProperty("token_ids").EnumerateArray().Select(e => e.GetInt64()).ToArray();
        Assert.Equal(generated, served);
        Assert.Equal(System.Net.HttpStatusCode.OK, (await other).StatusCode);
    }
}
