using System.Net;
using System.Text.Json;
using Harness.Tokenization;

namespace Harness.Serving.Tests;

/// <summary>The OpenAI routes over real HTTP on loopback, against ONNX Runtime's decoder (the tiny GPT-2 shape) or the latency model.</summary>
public class ApiTests
{
    private static JsonElement Parse(string json) => JsonDocument.Parse(json).RootElement;

    [Fact]
    public async Task A_streamed_chat_sends_one_chunk_per_token_and_usage_counts_them()
    {
        await using InProcessServer s = await InProcessServer.StartAsync();
        (HttpResponseMessage r, List<string> events) = await Api.StreamAsync(s.Http, "/v1/chat/completions", new
        {
            model = "tiny-gpt2-test",
            messages = new[] { new { role = "user", content = "Say something." } },
            max_tokens = 12,
            ignore_eos = true,
            stream = true,
            stream_options = new { include_usage = true },
        });
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal("text/event-stream", r.Content.Headers.ContentType!.MediaType);
        Assert.Equal("[DONE]", events[^1]);
        JsonElement[] chunks = events.SkipLast(1).Select(Parse).ToArray();
        JsonElement[] tokens = chunks.Where(c => c.GetProperty("choices").GetArrayLength() == 1 && c.GetProperty("choices")[0].GetProperty("finish_reason").ValueKind == JsonValueKind.Null).ToArray();
        JsonElement usage = chunks[^1].GetProperty("usage");
        Assert.Equal(0, chunks[^1].GetProperty("choices").GetArrayLength());
        Assert.Equal(12, tokens.Length);
        Assert.Equal(tokens.Length, usage.GetProperty("completion_tokens").GetInt32());
        Assert.Equal("length", chunks[^2].GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Equal("assistant", tokens[0].GetProperty("choices")[0].GetProperty("delta").GetProperty("role").GetString());
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", c.GetProperty("object").GetString()));
        int prompt = new VocabularyMap(TextTokenizer.Gpt2, 256).Encode(ChatTemplate.Render([new ChatMessage("user", "Say something.")])).Length;
        Assert.Equal(prompt, usage.GetProperty("prompt_tokens").GetInt32());
    }

    [Fact]
    public async Task A_completion_answers_with_text_ids_and_usage()
    {
        await using InProcessServer s = await InProcessServer.StartAsync();
        HttpResponseMessage r = await s.Http.PostAsync("/v1/completions", Api.Json(new { model = "tiny-gpt2-test", prompt = new[] { 5, 6, 7 }, max_tokens = 9, ignore_eos = true, return_token_ids = true }));
        JsonElement body = Parse(await r.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        JsonElement choice = body.GetProperty("choices")[0];
        Assert.Equal("text_completion", body.GetProperty("object").GetString());
        Assert.Equal(9, choice.GetProperty("token_ids").GetArrayLength());
        Assert.Equal(new[] { 5L, 6, 7 }, body.GetProperty("prompt_token_ids").EnumerateArray().Select(e => e.GetInt64()));
        Assert.Equal(9, body.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.Equal(3, body.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        var map = new VocabularyMap(TextTokenizer.Gpt2, 256);
        Assert.Equal(map.Decode(choice.GetProperty("token_ids").EnumerateArray().Select(e => e.GetInt64())), choice.GetProperty("text").GetString());
    }

    [Fact]
    public async Task Models_and_health_answer()
    {
        await using InProcessServer s = await InProcessServer.StartAsync(backend: "latency-model");
        JsonElement models = Parse(await s.Http.GetStringAsync("/v1/models"));
        Assert.Equal("tiny-gpt2-test", models.GetProperty("data")[0].GetProperty("id").GetString());
        Assert.Equal(128, models.GetProperty("data")[0].GetProperty("max_model_len").GetInt32());
        Assert.Equal("ok", Parse(await s.Http.GetStringAsync("/health")).GetProperty("status").GetString());
    }

    /// <summary>Bad requests: the status, one sentence naming the field, and no stack trace.</summary>
    [Theory]
    [InlineData("{\"prompt\": \"hi\", \"max_tokens\": ", 400, "not valid JSON", null)]
    [InlineData("[1, 2]", 400, "must be a JSON object", null)]
    [InlineData("{\"prompt\": \"hi\", \"temperature\": 2.5}", 400, "temperature must be from 0 to 2, not 2.5.", "temperature")]
    [InlineData("{\"prompt\": \"hi\", \"n\": 2}", 400, "n: only 1", "n")]
    [InlineData("{\"prompt\": \"hi\", \"frobnicate\": true}", 400, "frobnicate: this server does not support the field", "frobnicate")]
    [InlineData("{\"prompt\": \"hi\", \"max_tokens\": 0}", 400, "max_tokens: must be an integer of at least 1", "max_tokens")]
    [InlineData("{\"prompt\": [1, 2, 999]}", 400, "prompt[2]: token ids are integers from 0 to 255", "prompt")]
    [InlineData("{\"prompt\": \"hi\", \"max_tokens\": 200}", 400, "maximum context length is 128 tokens. However, you requested 201 tokens (1 in the prompt, 200 for the completion)", "prompt")]
    [InlineData("{\"model\": \"gpt-4\", \"prompt\": \"hi\"}", 404, "The model 'gpt-4' does not exist", "model")]
    [InlineData("{\"max_tokens\": 3}", 400, "prompt: required", "prompt")]
    [InlineData("{\"prompt\": \"hi\", \"stream_options\": {\"include_usage\": true}}", 400, "only allowed when stream is true", "stream_options")]
    public async Task A_bad_request_is_refused_in_one_sentence(string body, int status, string message, string? param)
    {
        await using InProcessServer s = await InProcessServer.StartAsync(backend: "latency-model");
        HttpResponseMessage r = await s.Http.PostAsync("/v1/completions", Api.Raw(body));
        string text = await r.Content.ReadAsStringAsync();
        Assert.Equal(status, (int)r.StatusCode);
        JsonElement error = Parse(text).GetProperty("error");
        Assert.Contains(message, error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(param, error.GetProperty("param").GetString());
        Assert.DoesNotContain("   at ", text, StringComparison.Ordinal);
        Assert.DoesNotContain("\n", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Chat_refuses_tools_and_images_naming_the_field()
    {
        await using InProcessServer s = await InProcessServer.StartAsync(backend: "latency-model");
        HttpResponseMessage tools = await s.Http.PostAsync("/v1/chat/completions", Api.Raw("{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"tools\": [{\"type\": \"function\"}]}"));
        Assert.Contains("tools: tool calls are not supported", await tools.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        HttpResponseMessage image = await s.Http.PostAsync("/v1/chat/completions", Api.Raw("{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"image_url\", \"image_url\": {\"url\": \"x\"}}]}]}"));
        Assert.Equal(HttpStatusCode.BadRequest, image.StatusCode);
        Assert.Contains("messages[0].content[0]: only text parts", await image.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_body_over_the_limit_is_413()
    {
        await using InProcessServer s = await InProcessServer.StartAsync(backend: "latency-model");
        string big = "{\"prompt\": \"" + new string('a', ServeOptions.MaxBodyBytes + 10) + "\"}";
        HttpResponseMessage r = await s.Http.PostAsync("/v1/completions", Api.Raw(big));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, r.StatusCode);
        Assert.Contains("larger than", await r.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Requests_beyond_the_slots_and_the_queue_get_429_with_retry_after()
    {
        // One slot, no queue, and the latency model's tokens take time: the second request finds it full.
        await using InProcessServer s = await InProcessServer.StartAsync(backend: "latency-model", model: "gpt2-124m", maxBatch: 1, maxQueue: 0);
        Task<(HttpResponseMessage, List<string>)> first = Api.StreamAsync(s.Http, "/v1/completions", new { prompt = "a", max_tokens = 400, ignore_eos = true, stream = true });
        await WaitUntil(() => s.Server.InFlight == 1);
        HttpResponseMessage second = await s.Http.PostAsync("/v1/completions", Api.Json(new { prompt = "b", max_tokens = 2 }));
        Assert.Equal(HttpStatusCode.TooManyRequests, second.StatusCode);
        Assert.Equal("1", second.Headers.GetValues("Retry-After").Single());
        Assert.Contains("queue_full", await second.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        (HttpResponseMessage r, List<string> events) = await first;
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Dictionary<string, double> m = await Api.MetricsAsync(s.Http);
        Assert.Equal(1, Api.Value(m, "harness_serve_requests_refused_total", "queue_full"));
        Assert.Equal(1, Api.Value(m, "vllm:request_success_total", "\"length\""));
    }

    [Fact]
    public async Task An_api_key_guards_the_v1_routes_but_not_health_or_metrics()
    {
        await using InProcessServer s = await InProcessServer.StartAsync(backend: "latency-model", apiKey: "sesame");
        HttpResponseMessage none = await s.Http.GetAsync("/v1/models");
        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await s.Http.GetAsync("/health")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await s.Http.GetAsync("/metrics")).StatusCode);
        Auth.Bearer(s.Http, "sesame");
        Assert.Equal(HttpStatusCode.OK, (await s.Http.GetAsync("/v1/models")).StatusCode);
        Auth.Bearer(s.Http, "sesame2");
        Assert.Equal(HttpStatusCode.Unauthorized, (await s.Http.GetAsync("/v1/models")).StatusCode);
    }

    /// <summary>
    /// End of text: a vocabulary of 16 maps GPT-2's end-of-text (50256) to id 0, which is every token
    /// the latency model emits; so the request ends at its first token unless told otherwise.
    /// </summary>
    [Theory]
    [InlineData(false, 0, 1, "stop")]
    [InlineData(false, 3, 3, "stop")]
    [InlineData(true, 0, 6, "length")]
    public async Task An_end_token_ends_the_request_unless_ignore_eos_or_before_min_tokens(bool ignoreEos, int minTokens, int expected, string finish)
    {
        await using InProcessServer s = await InProcessServer.StartAsync(backend: "latency-model", vocabulary: new VocabularyMap(TextTokenizer.Gpt2, 16));
        Assert.Equal(0, s.Model.Vocabulary.EndOfText);
        HttpResponseMessage r = await s.Http.PostAsync("/v1/completions", Api.Json(new { prompt = "hello", max_tokens = 6, ignore_eos = ignoreEos, min_tokens = minTokens }));
        JsonElement body = Parse(await r.Content.ReadAsStringAsync());
        Assert.Equal(expected, body.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.Equal(finish, body.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        await WaitUntil(() => s.Endpoint.Occupancy.SlotsInUse == 0);
    }

    [Fact]
    public async Task A_stop_string_ends_the_text_before_it_and_frees_the_slot()
    {
        // The latency model's tokens are all id 0, which GPT-2 spells "!": the stop string "!!!" comes at the third.
        await using InProcessServer s = await InProcessServer.StartAsync(backend: "latency-model", model: "gpt2-124m");
        (HttpResponseMessage r, List<string> events) = await Api.StreamAsync(s.Http, "/v1/completions", new { prompt = "hello", max_tokens = 50, stop = "!!!", stream = true, stream_options = new { include_usage = true } });
        JsonElement[] chunks = events.SkipLast(1).Select(Parse).ToArray();
        string text = string.Concat(chunks.Where(c => c.GetProperty("choices").GetArrayLength() == 1).Select(c => c.GetProperty("choices")[0].GetProperty("text").GetString()));
        Assert.Equal("", text);
        Assert.Equal("stop", chunks[^2].GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Equal(3, chunks[^1].GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        await WaitUntil(() => s.Endpoint.Occupancy.SlotsInUse == 0);
        Assert.Equal(1, Api.Value(await Api.MetricsAsync(s.Http), "vllm:request_success_total", "\"stop\""));
    }

    internal static async Task WaitUntil(Func<bool> condition, double seconds = 30)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed.TotalSeconds < seconds, "the condition did not hold in time");
            await Task.Delay(10);
        }
    }
}
