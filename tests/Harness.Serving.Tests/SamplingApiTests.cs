using System.Text.Json;
using Harness.Decoding.Sampling;
using Microsoft.AspNetCore.Http;
using static Harness.Serving.Tests.CompletionWriterTests;

namespace Harness.Serving.Tests;

/// <summary>
/// The sampling fields in OpenAI's shapes: parsed into the request's sampling, refused out of range,
/// and log-probabilities written back.
/// </summary>
public class SamplingApiTests
{
    [Fact]
    public void Completions_take_every_sampling_field_and_logprobs_as_an_integer()
    {
        GenerationRequest r = Request(ApiRoute.Completions, """
            {"prompt": "hi", "temperature": 0.7, "top_p": 0.9, "top_k": 40, "min_p": 0.05, "seed": 123,
             "repetition_penalty": 1.1, "presence_penalty": 0.5, "frequency_penalty": -0.5, "logprobs": 2, "n": 1}
            """);

        Assert.Equal(
            new SamplingParams
            {
                Temperature = 0.7, TopP = 0.9, TopK = 40, MinP = 0.05, RepetitionPenalty = 1.1, PresencePenalty = 0.5,
                FrequencyPenalty = -0.5, Logprobs = true, TopLogprobs = 2,
            },
            r.Sampling);
        Assert.Equal(123UL, r.Seed);
    }

    [Fact]
    public void Chat_takes_logprobs_as_a_flag_and_top_logprobs_beside_it()
    {
        GenerationRequest r = Request(ApiRoute.ChatCompletions, """
            {"messages": [{"role": "user", "content": "hi"}], "temperature": 1, "logprobs": true, "top_logprobs": 3, "top_k": -1}
            """);

        Assert.Equal(new SamplingParams { Temperature = 1, Logprobs = true, TopLogprobs = 3 }, r.Sampling);
        Assert.Null(r.Seed);
        Assert.True(Request(ApiRoute.ChatCompletions, """{"messages": [{"role": "user", "content": "hi"}]}""").Sampling.IsPlainGreedy);
    }

    [Theory]
    [InlineData(ApiRoute.Completions, "\"n\": 2", "n: only 1 choice per request is supported", "n")]
    [InlineData(ApiRoute.Completions, "\"best_of\": 3", "best_of: only 1 choice per request is supported", "best_of")]
    [InlineData(ApiRoute.Completions, "\"temperature\": 2.5", "temperature must be from 0 to 2, not 2.5.", "temperature")]
    [InlineData(ApiRoute.Completions, "\"top_p\": 0", "top_p must be above 0 and at most 1, not 0.", "top_p")]
    [InlineData(ApiRoute.Completions, "\"min_p\": 2", "min_p must be from 0 to 1, not 2.", "min_p")]
    [InlineData(ApiRoute.Completions, "\"presence_penalty\": 2.5", "presence_penalty must be from -2 to 2, not 2.5.", "presence_penalty")]
    [InlineData(ApiRoute.Completions, "\"frequency_penalty\": -3", "frequency_penalty must be from -2 to 2, not -3.", "frequency_penalty")]
    [InlineData(
        ApiRoute.Completions,
        "\"repetition_penalty\": 0",
        "repetition_penalty must be above 0 and at most 2, not 0.",
        "repetition_penalty")]
    [InlineData(ApiRoute.Completions, "\"logprobs\": 21", "logprobs must be from 0 to 20, not 21.", "logprobs")]
    [InlineData(ApiRoute.Completions, "\"seed\": 1.5", "seed: must be an integer.", "seed")]
    [InlineData(ApiRoute.Completions, "\"top_k\": -2", "top_k: must be an integer of at least -1.", "top_k")]
    [InlineData(ApiRoute.ChatCompletions, "\"top_logprobs\": 2", "top_logprobs: only allowed when logprobs is true.", "top_logprobs")]
    [InlineData(ApiRoute.ChatCompletions, "\"n\": 4", "n: only 1 choice per request is supported", "n")]
    public void A_value_out_of_range_is_refused_naming_its_field(ApiRoute route, string field, string message, string param)
    {
        string prompt = route == ApiRoute.ChatCompletions
            ? "\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]"
            : "\"prompt\": \"hi\"";

        ApiError e = Assert.Throws<ApiError>(() => Request(route, $"{{{prompt}, {field}}}"));

        Assert.Equal(400, e.Status);
        Assert.Equal(message, e.Message);
        Assert.Equal(param, e.Param);
    }

    private static readonly TokenLogprobs Hello = new(15496, -0.25f, [(15496, -0.25f), (18435, -1.5f)]);

    [Fact]
    public async Task A_chat_stream_carries_each_tokens_logprobs_in_openais_shape()
    {
        (DefaultHttpContext context, MemoryStream body) = Response();
        GenerationRequest request = Request(ApiRoute.ChatCompletions,
            """{"messages":[{"role":"user","content":"Hi"}],"stream":true,"logprobs":true,"top_logprobs":2,"temperature":1}""");
        await using (var writer = new CompletionWriter(context, request, Model.Name, Model.Vocabulary))
        {
            writer.Begin();
            writer.Token("Hello", 15496, Hello, first: true);
            writer.Finish("", "length", completionTokens: 1);
            await writer.FlushAsync();
        }

        List<string> events = Events(body);
        JsonElement Choice(int e) => JsonDocument.Parse(events[e]).RootElement.GetProperty("choices")[0];
        JsonElement content = Choice(0).GetProperty("logprobs").GetProperty("content");
        JsonElement entry = Assert.Single(content.EnumerateArray());
        Assert.Equal("Hello", entry.GetProperty("token").GetString());
        Assert.Equal(-0.25, entry.GetProperty("logprob").GetDouble(), 6);
        Assert.Equal("Hello"u8.ToArray(), entry.GetProperty("bytes").EnumerateArray().Select(b => (byte)b.GetInt32()));
        JsonElement top = entry.GetProperty("top_logprobs");
        string[] expected = ["Hello", Model.Vocabulary.Decode([18435])];
        Assert.Equal(expected, top.EnumerateArray().Select(t => t.GetProperty("token").GetString()));
        Assert.Equal(JsonValueKind.Null, Choice(1).GetProperty("logprobs").ValueKind);
    }

    [Fact]
    public async Task A_whole_completion_carries_tokens_token_logprobs_top_logprobs_and_text_offsets()
    {
        (DefaultHttpContext context, MemoryStream body) = Response();
        GenerationRequest request = Request(ApiRoute.Completions, """{"prompt":"Hello","logprobs":1}""");
        await using (var writer = new CompletionWriter(context, request, Model.Name, Model.Vocabulary))
        {
            writer.Begin();
            writer.Token("Hello", 15496, Hello with { Top = [(15496, -0.25f)] }, first: true);
            writer.Token(" world", 995, new TokenLogprobs(995, -2f, [(11, -0.5f)]), first: false);
            writer.Finish("", "length", completionTokens: 2);
            await writer.FlushAsync();
        }

        JsonElement lp = JsonDocument.Parse(body.ToArray()).RootElement.GetProperty("choices")[0].GetProperty("logprobs");
        Assert.Equal(["Hello", " world"], lp.GetProperty("tokens").EnumerateArray().Select(t => t.GetString()));
        Assert.Equal([-0.25, -2.0], lp.GetProperty("token_logprobs").EnumerateArray().Select(t => t.GetDouble()));
        Assert.Equal(-0.5, lp.GetProperty("top_logprobs")[1].GetProperty(",").GetDouble(), 6);
        Assert.Equal([0, 5], lp.GetProperty("text_offset").EnumerateArray().Select(t => t.GetInt32()));
    }
}
