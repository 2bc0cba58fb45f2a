using System.Diagnostics;
using Harness.Tests.Fakes;

namespace Harness.Serving.Tests;

/// <summary>/metrics: vLLM's names, and promtool finds nothing to say but the colons those names carry.</summary>
public class MetricsTests
{
    [RequiresBinariesFact("promtool")]
    public async Task The_exposition_passes_promtool_but_for_the_colons_of_vllms_names()
    {
        await using InProcessServer s = await InProcessServer.StartAsync();
        await s.Http.PostAsync("/v1/completions", Api.Json(new { prompt = "hello", max_tokens = 5, ignore_eos = true }));
        await s.Http.PostAsync("/v1/completions", Api.Raw("{not json"));
        string text = await s.Http.GetStringAsync("/metrics");
        foreach (string name in new[] { "vllm:num_requests_running", "vllm:num_requests_waiting", "vllm:kv_cache_usage_perc", "vllm:prompt_tokens_total", "vllm:generation_tokens_total", "vllm:time_to_first_token_seconds_bucket", "vllm:inter_token_latency_seconds_bucket", "vllm:e2e_request_latency_seconds_count", "vllm:request_success_total", "harness_serve_kv_cache_slots_in_use", "harness_serve_requests_refused_total" })
        {
            Assert.Contains(name + "{model_name=\"tiny-gpt2-test\",engine=\"0\"", text, StringComparison.Ordinal);
        }

        Dictionary<string, double> m = await Api.MetricsAsync(s.Http);
        Assert.Equal(5, Api.Value(m, "vllm:generation_tokens_total"));
        Assert.Equal(4, Api.Value(m, "vllm:inter_token_latency_seconds_count"));
        Assert.Equal(1, Api.Value(m, "vllm:time_to_first_token_seconds_count"));
        Assert.Equal(1, Api.Value(m, "harness_serve_requests_refused_total", "invalid"));

        var psi = new ProcessStartInfo("promtool", "check metrics") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        using Process p = Process.Start(psi)!;
        await p.StandardInput.WriteAsync(text);
        p.StandardInput.Close();
        string output = await p.StandardOutput.ReadToEndAsync() + await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        string[] problems = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(l => !(l.StartsWith("vllm:", StringComparison.Ordinal) && l.EndsWith("metric names should not contain ':'", StringComparison.Ordinal)))
            .ToArray();
        Assert.True(problems.Length == 0, $"promtool: {string.Join("; ", problems)}\n{text}");
        Assert.Contains("should not contain ':'", output, StringComparison.Ordinal);
    }
}
