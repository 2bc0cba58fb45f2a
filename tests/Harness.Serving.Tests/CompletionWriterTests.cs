using System.Text;
using System.Text.Json;
using Harness.Decoding;
using Harness.Tokenization;
using Microsoft.AspNetCore.Http;

namespace Harness.Serving.Tests;

/// <summary>OpenAI's wire format as the server writes it, into a response in memory: chunks, usage, [DONE], the whole answer.</summary>
public class CompletionWriterTests
{
    internal static readonly ServedModel Model = new("wire-test", 1024, new VocabularyMap(TextTokenizer.Gpt2, 50_257));

    [Fact]
    public async Task A_stream_sends_a_chunk_per_token_then_the_finish_then_usage_then_done()
    {
        (DefaultHttpContext context, MemoryStream body) = Response();
        GenerationRequest request = Request(ApiRoute.ChatCompletions,
            """{"messages":[{"role":"user","content":"Hi"}],"stream":true,"stream_options":{"include_usage":true}}""");
        await using (var writer = new CompletionWriter(context, request, Model.Name))
        {
            writer.Begin();
            writer.Token("Hel", 15496, first: true);
            writer.Token("", 995, first: false);
            await writer.FlushAsync();
            Assert.Equal(2, Events(body).Count);
            writer.Finish("lo", "stop", completionTokens: 2);
            await writer.FlushAsync();
        }

        Assert.Equal("text/event-stream", context.Response.ContentType);
        List<string> events = Events(body);
        Assert.Equal(5, events.Count);
        Assert.Equal("[DONE]", events[^1]);
        JsonElement[] chunks = events[..^1].Select(e => JsonDocument.Parse(e).RootElement).ToArray();
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", c.GetProperty("object").GetString()));
        Assert.Single(chunks.Select(c => c.GetProperty("id").GetString()).Distinct());

        JsonElement first = chunks[0].GetProperty("choices")[0];
        Assert.Equal("assistant", first.GetProperty("delta").GetProperty("role").GetString());
        Assert.Equal("Hel", first.GetProperty("delta").GetProperty("content").GetString());
        Assert.Equal(JsonValueKind.Null, first.GetProperty("finish_reason").ValueKind);
        JsonElement second = chunks[1].GetProperty("choices")[0].GetProperty("delta");
        Assert.False(second.TryGetProperty("role", out _));
        Assert.Equal("", second.GetProperty("content").GetString()); // a token with no text yet still has its chunk

        JsonElement finish = chunks[2].GetProperty("choices")[0];
        Assert.Equal("lo", finish.GetProperty("delta").GetProperty("content").GetString());
        Assert.Equal("stop", finish.GetProperty("finish_reason").GetString());
        Assert.False(chunks[2].TryGetProperty("usage", out _));

        // The usage chunk comes after the finish and before [DONE], with no choices.
        Assert.Equal(0, chunks[3].GetProperty("choices").GetArrayLength());
        JsonElement usage = chunks[3].GetProperty("usage");
        Assert.Equal(request.PromptIds.Length, usage.GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(2, usage.GetProperty("completion_tokens").GetInt32());
        Assert.Equal(request.PromptIds.Length + 2, usage.GetProperty("total_tokens").GetInt32());
    }

    [Fact]
    public async Task A_stream_without_include_usage_ends_with_the_finish_and_done_and_an_empty_answer_says_the_role_there()
    {
        (DefaultHttpContext context, MemoryStream body) = Response();
        GenerationRequest request = Request(ApiRoute.ChatCompletions, """{"messages":[{"role":"user","content":"Hi"}],"stream":true}""");
        await using (var writer = new CompletionWriter(context, request, Model.Name))
        {
            writer.Begin();
            writer.Finish("", "abort", completionTokens: 0);
            await writer.FlushAsync();
        }

        List<string> events = Events(body);
        Assert.Equal(2, events.Count);
        Assert.Equal("[DONE]", events[1]);
        JsonElement choice = JsonDocument.Parse(events[0]).RootElement.GetProperty("choices")[0];
        Assert.Equal("assistant", choice.GetProperty("delta").GetProperty("role").GetString());
        Assert.False(choice.GetProperty("delta").TryGetProperty("content", out _));
        Assert.Equal("abort", choice.GetProperty("finish_reason").GetString());
    }

    [Fact]
    public async Task Not_streamed_nothing_goes_out_until_the_whole_answer_with_its_ids_and_usage()
    {
        (DefaultHttpContext context, MemoryStream body) = Response();
        GenerationRequest request = Request(ApiRoute.Completions, """{"prompt":"Hello","max_tokens":3,"return_token_ids":true}""");
        await using (var writer = new CompletionWriter(context, request, Model.Name))
        {
            writer.Begin();
            writer.Token("a", 64, first: true);
            writer.Token("b", 65, first: false);
            await writer.FlushAsync();
            Assert.Equal(0, body.Length);
            writer.Finish("c", "length", completionTokens: 2);
            await writer.FlushAsync();
        }

        Assert.Equal("application/json", context.Response.ContentType);
        JsonElement answer = JsonDocument.Parse(body.ToArray()).RootElement;
        Assert.Equal("text_completion", answer.GetProperty("object").GetString());
        Assert.StartsWith("cmpl-", answer.GetProperty("id").GetString(), StringComparison.Ordinal);
        Assert.Equal(Model.Name, answer.GetProperty("model").GetString());
        JsonElement choice = answer.GetProperty("choices")[0];
        Assert.Equal("abc", choice.GetProperty("text").GetString());
        Assert.Equal("length", choice.GetProperty("finish_reason").GetString());
        Assert.Equal([64L, 65L], choice.GetProperty("token_ids").EnumerateArray().Select(i => i.GetInt64()));
        Assert.Equal(request.PromptIds, answer.GetProperty("prompt_token_ids").EnumerateArray().Select(i => i.GetInt64()));
        Assert.Equal(2, answer.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Theory]
    [InlineData(LlmCompletion.Finished, "length")]
    [InlineData(LlmCompletion.EndToken, "stop")]
    [InlineData(LlmCompletion.Cancelled, "abort")]
    public void Finish_reasons_are_openais(LlmCompletion how, string reason) => Assert.Equal(reason, CompletionWriter.FinishReason(how));

    internal static GenerationRequest Request(ApiRoute route, string json)
    {
        using JsonDocument body = JsonDocument.Parse(json);
        return GenerationRequest.Parse(body.RootElement, route, Model);
    }

    internal static (DefaultHttpContext Context, MemoryStream Body) Response()
    {
        var body = new MemoryStream();
        var context = new DefaultHttpContext();
        context.Response.Body = body;
        return (context, body);
    }

    /// <summary>Each server-sent event's data, in order.</summary>
    internal static List<string> Events(MemoryStream body)
    {
        string text = Encoding.UTF8.GetString(body.ToArray());
        Assert.EndsWith("\n\n", text, StringComparison.Ordinal);
        return text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries)
            .Select(e =>
            {
                Assert.StartsWith("data: ", e, StringComparison.Ordinal);
                return e["data: ".Length..];
            })
            .ToList();
    }
}
