using System.Text;

namespace Harness.OpenAI.Tests.Server;

/// <summary>
/// Exact streams in the shapes each server sends (the research file's observations and each
/// server's documented chunk format), with the right TTFT, TTFO, token count and per-event ITL.
/// </summary>
public static class Transcripts
{
    private static string Chat(string delta, string? finish = null, string extra = "") =>
        $$"""{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{{delta}},"logprobs":null,"finish_reason":{{(finish is null ? "null" : $"\"{finish}\"")}}}]{{extra}}}""";

    private static string UsageOnly(int prompt, int completion, string extra = "") =>
        """{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":""" + prompt
        + ""","completion_tokens":""" + completion + ""","total_tokens":""" + (prompt + completion) + extra + "}}";

    /// <summary>vLLM: a role-only first chunk with empty content (not a token), one token per chunk, a finish chunk, then usage with empty choices.</summary>
    public static Transcript Vllm => new("vllm", [
        Step.Data(100, Chat("""{"role":"assistant","content":""}""", extra: ",\"usage\":null")),
        Step.Data(250, Chat("""{"content":"Hello"}""", extra: ",\"usage\":null")),
        Step.Data(300, Chat("""{"content":" world"}""", extra: ",\"usage\":null")),
        Step.Data(380, Chat("""{"content":"!"}""", extra: ",\"usage\":null")),
        Step.Data(400, Chat("""{"content":""}""", "length", ",\"usage\":null")),
        Step.Data(401, UsageOnly(12, 3)),
        Step.Done(402),
    ])
    {
        TtftMs = 250, TtfoMs = 250, Events = 3, UsageTokens = 3, ItlEventMs = [50, 80],
    };

    /// <summary>SGLang with a reasoning parser: reasoning_content first (TTFT), the answer later (TTFO), pings between.</summary>
    public static Transcript Sglang => new("sglang", [
        Step.Data(50, Chat("""{"role":"assistant","content":null,"reasoning_content":null}""")),
        Step.Ping(60),
        Step.Data(120, Chat("""{"content":null,"reasoning_content":"Let me"}""")),
        Step.Data(150, Chat("""{"content":null,"reasoning_content":" think"}""")),
        Step.Ping(200),
        Step.Data(400, Chat("""{"content":"Answer","reasoning_content":null}""")),
        Step.Data(410, Chat("""{"content":null}""", "stop")),
        Step.Data(411, UsageOnly(20, 5)),
        Step.Done(412),
    ])
    {
        TtftMs = 120, TtfoMs = 400, Events = 3, UsageTokens = 5, ItlEventMs = [30, 250],
    };

    /// <summary>
    /// llama.cpp's server: no role chunk (its first sampled token was an incomplete UTF-8 sequence),
    /// a character split between two writes, newer vLLM's <c>reasoning</c> field, the finish chunk with
    /// its timings object, a separate usage chunk.
    /// </summary>
    public static Transcript LlamaCpp
    {
        get
        {
            byte[] split = Encoding.UTF8.GetBytes("data: " + Chat("""{"content":"café"}""") + "\n\n");
            int cut = Array.IndexOf(split, (byte)0xA9); // inside "é" (0xC3 0xA9)
            return new("llama.cpp", [
                Step.Data(30, Chat("""{"reasoning":"hmm"}""")),
                new Step(70, split[..cut], 0),
                new Step(90, split[cut..], 1),
                Step.Data(140, Chat("""{"content":" au lait"}""")),
                Step.Data(141, Chat("{}", "length", ""","timings":{"prompt_n":12,"prompt_ms":8.1,"predicted_n":3,"predicted_per_second":40.1}""")),
                Step.Data(142, UsageOnly(12, 3)),
                Step.Done(143),
            ])
            {
                TtftMs = 30, TtfoMs = 90, Events = 3, UsageTokens = 3, ItlEventMs = [60, 50],
            };
        }
    }

    /// <summary>TGI's OpenAI route: <c>data:</c> without a space, CRLF line ends, usage on the last chunk.</summary>
    public static Transcript Tgi => new("tgi", [
        Step.Raw(40, "data:" + Chat("""{"role":"assistant","content":"The"}""") + "\r\n\r\n", 1),
        Step.Raw(65, "data:" + Chat("""{"role":"assistant","content":" sky"}""") + "\r\n\r\n", 1),
        Step.Raw(95, "data:" + Chat("""{"role":"assistant","content":" is"}""", "length", ""","usage":{"prompt_tokens":4,"completion_tokens":3,"total_tokens":7}""") + "\r\n\r\n", 1),
        Step.Raw(96, "data:[DONE]\r\n\r\n", 1),
    ])
    {
        TtftMs = 40, TtfoMs = 40, Events = 3, UsageTokens = 3, ItlEventMs = [25, 30],
    };

    /// <summary>OpenAI: a role-only first chunk with refusal null, several tokens per chunk, usage-only last chunk with cached tokens.</summary>
    public static Transcript OpenAi => new("openai", [
        Step.Data(200, Chat("""{"role":"assistant","content":"","refusal":null}""")),
        Step.Data(320, Chat("""{"content":"Hello, world"}""")),
        Step.Data(350, Chat("""{"content":" how are"}""")),
        Step.Data(390, Chat("""{"content":" you?"}""")),
        Step.Data(400, Chat("{}", "stop")),
        Step.Data(405, UsageOnly(30, 6, ""","prompt_tokens_details":{"cached_tokens":16}""")),
        Step.Done(406),
    ])
    {
        TtftMs = 320, TtfoMs = 320, Events = 3, UsageTokens = 6, ItlEventMs = [30, 40],
    };

    public static TheoryData<Transcript> Shapes => [Vllm, Sglang, LlamaCpp, Tgi, OpenAi];

    /// <summary>An error event after two tokens (vLLM's shape of a failure mid-stream).</summary>
    public static Transcript ErrorMidStream => new("error event", [
        Step.Data(10, Chat("""{"content":"a"}""")),
        Step.Data(20, Chat("""{"content":"b"}""")),
        Step.Data(30, """{"error":{"message":"out of KV cache blocks","type":"InternalServerError","code":500}}"""),
        Step.End(31),
    ])
    {
        Failure = "error event mid-stream: out of KV cache blocks (InternalServerError, 500)",
    };

    /// <summary>The connection is reset after two tokens.</summary>
    public static Transcript Reset => new("reset", [
        Step.Data(10, Chat("""{"content":"a"}""")),
        Step.Data(20, Chat("""{"content":"b"}""")),
        Step.Abort(25),
    ])
    {
        Failure = "connection reset after 2 events",
    };

    /// <summary>A line that is no SSE field.</summary>
    public static Transcript MalformedLine => new("malformed line", [
        Step.Data(10, Chat("""{"content":"a"}""")),
        Step.Raw(20, "<html>502 Bad Gateway</html>\n", 0),
        Step.End(21),
    ])
    {
        Failure = "malformed line in the event stream: <html>502 Bad Gateway</html>",
    };

    /// <summary>A chunk cut inside its JSON.</summary>
    public static Transcript MalformedChunk => new("malformed chunk", [
        Step.Data(10, Chat("""{"content":"a"}""")),
        Step.Raw(20, """data: {"choices":[{"delta":{"content":"b""" + "\n\n", 0),
        Step.End(21),
    ])
    {
        Failure = "malformed chunk",
    };

    /// <summary>The body ends after two tokens: no finish reason, no [DONE].</summary>
    public static Transcript EarlyEof => new("early EOF", [
        Step.Data(10, Chat("""{"content":"a"}""")),
        Step.Data(20, Chat("""{"content":"b"}""")),
        Step.End(25),
    ])
    {
        Failure = "the stream ended early: no finish reason and no data: [DONE] after 2 events",
    };

    /// <summary>One token, then nothing: the request timeout cuts it.</summary>
    public static Transcript Stall => new("stall", [
        Step.Data(10, Chat("""{"content":"a"}""")),
        Step.Stall(20),
    ])
    {
        Failure = "no end within the 3 s request timeout (after 1 events)",
    };

    public static TheoryData<Transcript> Failures => [ErrorMidStream, Reset, MalformedLine, MalformedChunk, EarlyEof];
}
