using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Harness.OpenAI.Tests.Server;

/// <summary>
/// A stand-in model behind the test server: it waits <see cref="Ttft"/>, then streams max_tokens
/// tokens (one word each, one chunk each) <see cref="Tpot"/> apart in vLLM's chat shape, ends with the
/// usage chunk and [DONE], and keeps vLLM-named counters and gauges for /metrics. Its times are
/// real (Task.Delay), so the client's figures are what a loopback server gives.
/// </summary>
public sealed class SyntheticModel
{
    private readonly object _gate = new();
    private int _running;
    private long _prompt;
    private long _generated;
    private long _finished;
    private double _ttftSum;
    private readonly long[] _ttftBuckets = new long[Bounds.Length];

    private static readonly double[] Bounds = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, double.PositiveInfinity];

    public TimeSpan Ttft { get; init; } = TimeSpan.FromMilliseconds(20);

    public TimeSpan Tpot { get; init; } = TimeSpan.FromMilliseconds(5);

    public long Finished => Interlocked.Read(ref _finished);

    public async Task Handle(HttpContext ctx, JsonElement body)
    {
        int max = body.TryGetProperty("max_tokens", out JsonElement m) ? m.GetInt32()
            : body.TryGetProperty("max_completion_tokens", out m) ? m.GetInt32() : 16;
        bool chat = body.TryGetProperty("messages", out JsonElement messages);
        string prompt = chat ? string.Join(" ", messages.EnumerateArray().Select(x => x.GetProperty("content").GetString())) : body.GetProperty("prompt").GetString() ?? "";
        int promptTokens = Math.Max(1, prompt.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length);
        var started = DateTime.UtcNow;
        lock (_gate)
        {
            _running++;
        }

        try
        {
            await OpenAiTestServer.BeginStream(ctx);
            await OpenAiTestServer.Write(ctx, "data: " + Chunk("""{"role":"assistant","content":""}""", null) + "\n\n");
            await Task.Delay(Ttft, ctx.RequestAborted);
            lock (_gate)
            {
                double ttft = (DateTime.UtcNow - started).TotalSeconds;
                _ttftSum += ttft;
                for (int i = 0; i < Bounds.Length; i++)
                {
                    if (ttft <= Bounds[i])
                    {
                        _ttftBuckets[i]++;
                    }
                }
            }

            for (int i = 0; i < max; i++)
            {
                if (i > 0)
                {
                    await Task.Delay(Tpot, ctx.RequestAborted);
                }

                await OpenAiTestServer.Write(ctx, "data: " + Chunk($$"""{"content":" tok{{i}}"}""", null) + "\n\n");
            }

            await OpenAiTestServer.Write(ctx,
                "data: " + Chunk("{}", "length") + "\n\n"
                + "data: " + string.Create(CultureInfo.InvariantCulture, $$$"""{"choices":[],"usage":{"prompt_tokens":{{{promptTokens}}},"completion_tokens":{{{max}}},"total_tokens":{{{promptTokens + max}}}}}""") + "\n\n"
                + "data: [DONE]\n\n");
            lock (_gate)
            {
                _prompt += promptTokens;
                _generated += max;
                _finished++;
            }
        }
        catch (OperationCanceledException)
        {
            // The client went away.
        }
        finally
        {
            lock (_gate)
            {
                _running--;
            }
        }
    }

    /// <summary>vLLM's names, with an escaped label value and a histogram.</summary>
    public string Metrics()
    {
        lock (_gate)
        {
            var sb = new StringBuilder();
            const string Labels = "model_name=\"test-\\\"model\\\"\"";
            sb.Append("# HELP vllm:num_requests_running Number of requests in model execution batches.\n# TYPE vllm:num_requests_running gauge\n");
            sb.Append(CultureInfo.InvariantCulture, $"vllm:num_requests_running{{{Labels}}} {_running}\n");
            sb.Append("# TYPE vllm:num_requests_waiting gauge\n");
            sb.Append(CultureInfo.InvariantCulture, $"vllm:num_requests_waiting{{{Labels}}} 0.0\n");
            sb.Append("# TYPE vllm:kv_cache_usage_perc gauge\n");
            sb.Append(CultureInfo.InvariantCulture, $"vllm:kv_cache_usage_perc{{{Labels}}} {_running * 0.01:0.###}\n");
            sb.Append("# TYPE vllm:prompt_tokens_total counter\n");
            sb.Append(CultureInfo.InvariantCulture, $"vllm:prompt_tokens_total{{{Labels}}} {_prompt}.0\n");
            sb.Append("# TYPE vllm:generation_tokens_total counter\n");
            sb.Append(CultureInfo.InvariantCulture, $"vllm:generation_tokens_total{{{Labels}}} {_generated}.0\n");
            sb.Append("# TYPE vllm:request_success_total counter\n");
            sb.Append(CultureInfo.InvariantCulture, $"vllm:request_success_total{{finished_reason=\"length\",{Labels}}} {_finished}.0\n");
            sb.Append("# TYPE vllm:time_to_first_token_seconds histogram\n");
            for (int i = 0; i < Bounds.Length; i++)
            {
                string le = double.IsPositiveInfinity(Bounds[i]) ? "+Inf" : Bounds[i].ToString(CultureInfo.InvariantCulture);
                sb.Append(CultureInfo.InvariantCulture, $"vllm:time_to_first_token_seconds_bucket{{le=\"{le}\",{Labels}}} {_ttftBuckets[i]}.0\n");
            }

            sb.Append(CultureInfo.InvariantCulture, $"vllm:time_to_first_token_seconds_count{{{Labels}}} {_ttftBuckets[^1]}.0\n");
            sb.Append(CultureInfo.InvariantCulture, $"vllm:time_to_first_token_seconds_sum{{{Labels}}} {_ttftSum}\n");
            return sb.ToString();
        }
    }

    private static string Chunk(string delta, string? finish) =>
        $$"""{"id":"chatcmpl-x","object":"chat.completion.chunk","created":1,"model":"test-model","choices":[{"index":0,"delta":{{delta}},"finish_reason":{{(finish is null ? "null" : $"\"{finish}\"")}}}]}""";
}
