using System.Text.Json;
using Harness.Backends;
using Harness.Decoding;
using Harness.Decoding.Sampling;
using Harness.Engine;
using Harness.Engine.Scenarios;
using Harness.Models;
using Harness.Onnx;
using Harness.Testing;

namespace Harness.Serving.Tests;

/// <summary>
/// The same seed gives the same sampled tokens through the server and in-process: <c>run generate
/// --set temperature=...</c> seeds its sequence from the run's seed, and a request with that seed
/// (and the same prompt ids and sampling) gets the same ids back from <c>harness serve</c>.
/// </summary>
public class SampledParityTests
{
    [Fact]
    public async Task Sampled_ids_through_the_server_equal_generate_in_process_for_the_same_seed()
    {
        TestCache.Ensure();
        const int promptTokens = 16, newTokens = 12;
        var options = new WorkloadOptions
        {
            Threads = 1,
            ModelConfig = ModelCatalog.Load("tiny-gpt2-test"),
            PromptTokens = promptTokens,
            NewTokens = newTokens,
            Extra = new Dictionary<string, string> { ["temperature"] = "1.3", ["top_p"] = "0.95", ["presence_penalty"] = "0.5" },
        };
        long[] prompt, generated;
        SamplingParams sampling;
        var backend = BackendSpec.Parse("onnx:cpu");
        using (var workload = (GenerateWorkload)new OnnxBackendProvider().Create(GenerateWorkload.Name, backend, options))
        {
            var settings = new RunSettings
            {
                Scenario = ScenarioParser.Parse("single"),
                Batch = 2,
                Warmup = WarmupRule.ForRequests(0),
                Stop = new StopRules(TimeSpan.Zero, 1, TimeSpan.FromMinutes(2)),
            };
            new BenchmarkEngine().Run(workload, settings);
            prompt = workload.Prompt(1).ToArray();
            generated = workload.Generated(1).ToArray();
            sampling = workload.Sampling(1);
        }

        await using InProcessServer s = await InProcessServer.StartAsync();
        async Task<long[]> Serve(object body)
        {
            HttpResponseMessage r = await s.Http.PostAsync("/v1/completions", Api.Json(body));
            JsonElement answer = JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement;
            return [.. answer.GetProperty("choices")[0].GetProperty("token_ids").EnumerateArray().Select(e => e.GetInt64())];
        }

        long seed = unchecked((long)sampling.Seed);
        long[] served = await Serve(new
        {
            prompt, max_tokens = newTokens, ignore_eos = true, return_token_ids = true,
            temperature = 1.3, top_p = 0.95, presence_penalty = 0.5, seed,
        });
        long[] greedy = await Serve(new { prompt, max_tokens = newTokens, ignore_eos = true, return_token_ids = true });
        long[] otherSeed = await Serve(new
        {
            prompt, max_tokens = newTokens, ignore_eos = true, return_token_ids = true,
            temperature = 1.3, top_p = 0.95, presence_penalty = 0.5, seed = seed + 1,
        });

        Assert.Equal(generated, served);
        Assert.NotEqual(greedy, served);
        Assert.NotEqual(served, otherSeed);
    }

    [Fact]
    public async Task Logprobs_come_back_in_a_stream_and_match_the_whole_answer()
    {
        TestCache.Ensure();
        await using InProcessServer s = await InProcessServer.StartAsync();
        var body = new { prompt = new long[] { 5, 6, 7 }, max_tokens = 4, ignore_eos = true, temperature = 0.8, seed = 3, logprobs = 2 };

        string text = await (await s.Http.PostAsync("/v1/completions", Api.Json(body))).Content.ReadAsStringAsync();
        JsonElement whole = JsonDocument.Parse(text).RootElement.GetProperty("choices")[0].GetProperty("logprobs");
        string stream = await (await s.Http.PostAsync("/v1/completions", Api.Json(new
        {
            body.prompt, body.max_tokens, body.ignore_eos, body.temperature, body.seed, body.logprobs, stream = true,
        }))).Content.ReadAsStringAsync();
        double[] streamed = [.. stream.Split("\n\n", StringSplitOptions.RemoveEmptyEntries)
            .Select(e => e["data: ".Length..])
            .Where(e => e != "[DONE]")
            .Select(e => JsonDocument.Parse(e).RootElement.GetProperty("choices")[0].GetProperty("logprobs"))
            .Where(l => l.ValueKind != JsonValueKind.Null)
            .Select(l => l.GetProperty("token_logprobs")[0].GetDouble())];

        double[] gathered = [.. whole.GetProperty("token_logprobs").EnumerateArray().Select(e => e.GetDouble())];
        Assert.Equal(4, gathered.Length);
        Assert.Equal(gathered, streamed);
        Assert.All(gathered, lp => Assert.True(lp < 0, $"log-probability {lp}"));
        Assert.All(whole.GetProperty("top_logprobs").EnumerateArray(), t => Assert.Equal(2, t.EnumerateObject().Count()));
    }
}
