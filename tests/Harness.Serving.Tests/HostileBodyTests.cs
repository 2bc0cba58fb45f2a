using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Harness.Serving.Tests;

/// <summary>
/// Hostile request bodies: each gets a 4xx with an OpenAI error object, never a 500, and the server
/// goes on serving. Bodies are written as Latin-1 text so that "\u00ff" is the raw byte 0xFF (invalid
/// UTF-8), while "\\ud800" is a JSON escape that decodes to a lone UTF-16 surrogate.
/// </summary>
public class HostileBodyTests
{
    private const string Cmpl = "/v1/completions";
    private const string Json = "application/json";
    private const string Chat = "/v1/chat/completions";

    private static readonly string Deep = new string('[', 5000) + new string(']', 5000);

    /// <summary>Route, content type (null: none), body, and what the case is.</summary>
    public static TheoryData<string, string?, string, string> Bodies() => new()
    {
        { Cmpl, Json, "", "empty body" },
        { Cmpl, null, "", "empty body, no content type" },
        { Cmpl, Json, "{", "truncated object" },
        { Cmpl, Json, "{\"prompt\": \"hi", "truncated string" },
        { Cmpl, Json, "{\"prompt\": \"hi\", \"max_tokens\": 1", "truncated after a number" },
        { Cmpl, Json, "null", "null body" },
        { Cmpl, Json, "\"prompt\"", "string body" },
        { Cmpl, Json, "12", "number body" },
        { Cmpl, "text/plain", "prompt=hi&max_tokens=3", "non-JSON content type and body" },
        { Chat, "application/x-www-form-urlencoded", "messages=hi", "form body" },
        { Cmpl, Json, "{\"prompt\": 5}", "number for prompt" },
        { Cmpl, Json, "{\"prompt\": {\"text\": \"hi\"}}", "object for prompt" },
        { Cmpl, Json, "{\"prompt\": [\"a\", \"b\"]}", "two prompts" },
        { Cmpl, Json, "{\"prompt\": []}", "empty prompt array" },
        { Cmpl, Json, "{\"prompt\": [[]]}", "empty nested prompt" },
        { Cmpl, Json, "{\"prompt\": [1.5]}", "fractional token id" },
        { Cmpl, Json, "{\"prompt\": [-1]}", "negative token id" },
        { Cmpl, Json, "{\"prompt\": [1e400]}", "huge token id" },
        { Cmpl, Json, "{\"prompt\": [true]}", "boolean token id" },
        { Cmpl, Json, "{\"prompt\": \"hi\", \"max_tokens\": -1}", "negative max_tokens" },
        { Cmpl, Json, "{\"prompt\": \"hi\", \"max_tokens\": 99999999999999999999999}", "huge max_tokens" },
        { Cmpl, Json, "{\"prompt\": \"hi\", \"max_tokens\": 1e400}", "infinite max_tokens" },
        { Cmpl, Json, "{\"prompt\": \"hi\", \"max_tokens\": 2.5}", "fractional max_tokens" },
        { Cmpl, Json, "{\"prompt\": \"hi\", \"max_tokens\": \"5\"}", "string max_tokens" },
        { Cmpl, Json, "{\"prompt\": \"hi\", \"min_tokens\": -3}", "negative min_tokens" },
        { Cmpl, Json, "{\"prompt\": \"hi\", \"temperature\": 1e400}", "infinite temperature" },
        { Cmpl, Json, "{\"prompt\": \"hi\", \"temperature\": \"0\"}", "string temperature" },
        { Cmpl, Json, "{\"prompt\": \"hi\", \"stream\": \"yes\"}", "string stream" },
        { Cmpl, Json, "{\"prompt\": \"hi\", \"stream\": true, \"stream_options\": []}", "array stream_options" },
        { Cmpl, Json, "{\"prompt\": \"hi\", \"logit_bias\": 5}", "number logit_bias" },
        { Cmpl, Json, "{\"prompt\": \"hi\", \"response_format\": {\"type\": 5}}", "number response_format.type" },
        { Cmpl, Json, "{\"prompt\": \"hi\", \"stop\": [[\"a\"]]}", "nested array for stop" },
        { Cmpl, Json, "{\"prompt\": \"hi\", \"stop\": 7}", "number stop" },
        { Cmpl, Json, "{\"prompt\": \"hi\", \"prompt\": 5}", "duplicate key" },
        { Cmpl, Json, "{\"prompt\": \"hi\\x\"}", "bad escape" },
        { Cmpl, Json, "{\"prompt\": \"a\u0000b\"}", "raw null byte in a string" },
        { Cmpl, Json, "\u0000", "a null byte for a body" },
        { Cmpl, Json, "{\"model\": \"\\u0000\", \"prompt\": \"hi\"}", "escaped null byte for model" },
        { Cmpl, Json, "{\"model\": [\"tiny-gpt2-test\"], \"prompt\": \"hi\"}", "array for model" },
        { Cmpl, Json, "{\"prompt\": " + Deep + "}", "nesting far past the depth limit" },
        { Cmpl, Json, "{\"prompt\": " + new string('[', 60) + "1" + new string(']', 60) + "}", "nesting within the depth limit" },
        { Cmpl, Json, "{\"prompt\": \"" + string.Concat(Enumerable.Repeat("word ", 100_000)) + "\"}", "long prompt (500 kB)" },
        { Cmpl, Json, "{\"prompt\": \"" + new string('a', 20_000) + "\"}", "one 20 kB word" },
        { Cmpl, Json, "{\"" + new string('k', 100_000) + "\": 1, \"prompt\": \"hi\"}", "a 100 kB field name" },
        { Chat, Json, "{\"messages\": \"hi\"}", "string for messages" },
        { Chat, Json, "{\"messages\": []}", "empty messages" },
        { Chat, Json, "{\"messages\": [null]}", "null message" },
        { Chat, Json, "{\"messages\": [[\"user\", \"hi\"]]}", "array for a message" },
        { Chat, Json, "{\"messages\": [{\"role\": [\"user\"], \"content\": \"hi\"}]}", "array for role" },
        { Chat, Json, "{\"messages\": [{\"role\": \"user\", \"content\": 5}]}", "number for content" },
        { Chat, Json, "{\"messages\": [{\"role\": \"user\", \"content\": [1, 2]}]}", "numbers for content parts" },
        { Chat, Json, "{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": 5, \"text\": \"hi\"}]}]}", "number part type" },
        { Chat, Json, "{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": 5}]}]}", "number part text" },
        { Chat, Json, "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"max_completion_tokens\": -5}", "negative max" },
    };

    /// <summary>Text that does not decode, in each field that holds text: 400 naming the field.</summary>
    public static TheoryData<string, string, string?> InvalidText() => new()
    {
        { Cmpl, "{\"prompt\": \"\\ud800\"}", "prompt" },
        { Cmpl, "{\"prompt\": \"a\\udc00b\"}", "prompt" },
        { Cmpl, "{\"prompt\": \"\\udc00\\ud800\"}", "prompt" },
        { Cmpl, "{\"prompt\": [\"\\ud800\"]}", "prompt[0]" },
        { Cmpl, "{\"prompt\": \"hi\", \"stop\": \"\\ud800\"}", "stop" },
        { Cmpl, "{\"prompt\": \"hi\", \"stop\": [\"a\", \"\\udbff\"]}", "stop[1]" },
        { Cmpl, "{\"model\": \"\\ud800\", \"prompt\": \"hi\"}", "model" },
        { Cmpl, "{\"prompt\": \"hi\", \"user\": \"\\ud800\"}", "user" },
        { Cmpl, "{\"prompt\": \"a\u00ff\u00fe\"}", "prompt" },
        { Cmpl, "{\"prompt\": \"\u00c0\u00af\"}", "prompt" },
        { Cmpl, "{\"prompt\": \"\u00ed\u00a0\u0080\"}", "prompt" },
        { Cmpl, "{\"prompt\": \"hi\", \"stop\": [\"\u00e2\u0082\"]}", "stop[0]" },
        { Cmpl, "{\"model\": \"\u00ff\", \"prompt\": \"hi\"}", "model" },
        { Cmpl, "{\"\\ud800\": 1, \"prompt\": \"hi\"}", null },
        { Cmpl, "{\"prompt\": \"hi\", \"\u00ff\": 1}", null },
        { Chat, "{\"messages\": [{\"role\": \"user\", \"content\": \"\\ud800\"}]}", "messages[0].content" },
        { Chat, "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}, {\"role\": \"user\", \"content\": \"\u00ff\"}]}",
            "messages[1].content" },
        { Chat, "{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": \"\\udc00\"}]}]}",
            "messages[0].content[0].text" },
        { Chat, "{\"messages\": [{\"role\": \"\\ud800\", \"content\": \"hi\"}]}", "messages[0].role" },
        { Chat, "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\", \"\\ud800\": 1}]}", "messages[0]" },
        { Chat, "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"stop\": [\"\\ud800\"]}", "stop[0]" },
    };

    [Theory]
    [MemberData(nameof(InvalidText))]
    public async Task Text_that_is_not_valid_unicode_is_400_naming_the_field(string route, string body, string? field)
    {
        await using InProcessServer s = await InProcessServer.StartAsync(backend: "latency-model");
        (int status, JsonElement error, string text) = await PostAsync(s.Http, route, "application/json", body);

        Assert.True(status == 400, $"{status}: {text}");
        Assert.Equal(field, error.GetProperty("param").GetString());
        Assert.Contains("not valid Unicode text", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        string message = error.GetProperty("message").GetString()!;
        Assert.StartsWith(field is null ? "A field name" : $"{field}: ", message, StringComparison.Ordinal);
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
    }

    [Fact]
    public async Task Every_hostile_body_gets_a_4xx_with_an_error_object_and_the_server_goes_on_serving()
    {
        await using InProcessServer s = await InProcessServer.StartAsync(backend: "latency-model");
        var wrong = new List<string>();
        async Task Check(string route, string? type, string body, string what)
        {
            try
            {
                (int status, JsonElement error, string text) = await PostAsync(s.Http, route, type, body);
                string? message = error.GetProperty("message").GetString();
                if (status is < 400 or >= 500 || string.IsNullOrEmpty(message) || message.Contains('\n', StringComparison.Ordinal))
                {
                    wrong.Add($"{what}: {status} {text[..Math.Min(200, text.Length)]}");
                }
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
            {
                wrong.Add($"{what}: the answer is not an error object ({e.Message})");
            }
        }

        foreach (object?[] row in Bodies())
        {
            await Check((string)row[0]!, (string?)row[1], (string)row[2]!, (string)row[3]!);
        }

        foreach (object?[] row in InvalidText())
        {
            await Check((string)row[0]!, "application/json", (string)row[1]!, $"invalid text in {row[2] ?? "a field name"}");
        }

        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
        Assert.DoesNotContain("failed", s.Log.ToString(), StringComparison.Ordinal);
        await AssertServes(s);
    }

    [Fact]
    public async Task Slow_and_vanishing_clients_leave_the_server_serving()
    {
        await using InProcessServer s = await InProcessServer.StartAsync(backend: "latency-model");
        var slow = new List<TcpClient>();
        try
        {
            // Slowloris: connections that send half a request and then nothing, held open while others are served.
            for (int i = 0; i < 20; i++)
            {
                var c = new TcpClient();
                await c.ConnectAsync(s.Address.Host, s.Address.Port);
                string partial = i % 2 == 0
                    ? "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-"
                    : "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                        + "Content-Length: 1000\r\n\r\n{\"prompt\": \"";
                await c.GetStream().WriteAsync(Encoding.ASCII.GetBytes(partial));
                slow.Add(c);
            }

            await AssertServes(s);

            // Vanishing: a body cut off mid-way by a closed connection, and streams dropped after their first token.
            foreach (TcpClient c in slow)
            {
                c.Client.Close();
            }

            for (int i = 0; i < 10; i++)
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, Cmpl)
                {
                    Content = Api.Json(new { prompt = $"client {i}", max_tokens = 100, ignore_eos = true, stream = true }),
                };
                using HttpResponseMessage response = await s.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
                using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
                while (await reader.ReadLineAsync() is { } line && !line.StartsWith("data: {", StringComparison.Ordinal))
                {
                }
            }

            await ApiTests.WaitUntil(() => s.Server.InFlight == 0);
            await AssertServes(s);
        }
        finally
        {
            slow.ForEach(c => c.Dispose());
        }
    }

    private static async Task AssertServes(InProcessServer s)
    {
        HttpResponseMessage ok = await s.Http.PostAsync(Cmpl, Api.Json(new { prompt = "still there?", max_tokens = 3, ignore_eos = true }));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        JsonElement usage = JsonDocument.Parse(await ok.Content.ReadAsStringAsync()).RootElement.GetProperty("usage");
        Assert.Equal(3, usage.GetProperty("completion_tokens").GetInt32());
        Assert.Equal("ok", JsonDocument.Parse(await s.Http.GetStringAsync("/health")).RootElement.GetProperty("status").GetString());
    }

    /// <summary>Posts <paramref name="body"/> as Latin-1 bytes (each char one byte): the status, the error object and the text.</summary>
    private static async Task<(int Status, JsonElement Error, string Text)> PostAsync(
        HttpClient http, string route, string? type, string body)
    {
        using var content = new ByteArrayContent(Encoding.Latin1.GetBytes(body));
        if (type is not null)
        {
            content.Headers.ContentType = new MediaTypeHeaderValue(type);
        }

        using HttpResponseMessage r = await http.PostAsync(route, content);
        string text = await r.Content.ReadAsStringAsync();
        JsonElement error = JsonDocument.Parse(text).RootElement.GetProperty("error");
        return ((int)r.StatusCode, error, text);
    }
}
