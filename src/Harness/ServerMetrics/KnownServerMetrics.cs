namespace Harness.ServerMetrics;

/// <summary>How a known server metric is summarised over the window.</summary>
public enum ServerMetricKind
{
    /// <summary>A level (requests running, KV-cache use): min, mean, max and last over the scrapes.</summary>
    Gauge,

    /// <summary>A running total (tokens, preemptions): its increase over the window and the rate.</summary>
    Counter,

    /// <summary>A latency histogram: count, mean and percentiles of the observations made in the window.</summary>
    Histogram,
}

/// <summary>One quantity the serving stacks publish under their own names (the first name a server has is used).</summary>
public sealed record KnownServerMetric(string Key, string Description, ServerMetricKind Kind, string Unit, IReadOnlyList<string> Names);

/// <summary>
/// The gauges, counters and histograms of vLLM, SGLang, TensorRT-LLM (as Dynamo exports it, with a
/// <c>trtllm_</c> or <c>trtllm:</c> prefix), llama.cpp's server (<c>--metrics</c>) and TGI that a
/// benchmark wants beside its own figures: load (running, waiting), KV-cache use, prefix-cache reuse,
/// preemptions, token counters and the server's own latency histograms. <c>harness serve</c> uses
/// vLLM's names. Names differ by version; each entry lists every name known to carry it.
/// </summary>
public static class KnownServerMetrics
{
    public static IReadOnlyList<KnownServerMetric> All { get; } =
    [
        new("requests_running", "requests being decoded", ServerMetricKind.Gauge, "requests",
            ["vllm:num_requests_running", "sglang:num_running_reqs", "llamacpp:requests_processing", "trtllm_num_requests_running", "trtllm:num_requests_running", "tgi_batch_current_size"]),
        new("requests_waiting", "requests waiting to be scheduled", ServerMetricKind.Gauge, "requests",
            ["vllm:num_requests_waiting", "sglang:num_queue_reqs", "llamacpp:requests_deferred", "trtllm_num_requests_waiting", "trtllm:num_requests_waiting", "tgi_queue_size"]),
        new("kv_cache_usage", "share of the KV cache in use", ServerMetricKind.Gauge, "fraction",
            ["vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc", "sglang:token_usage", "llamacpp:kv_cache_usage_ratio", "trtllm_kv_cache_utilization", "trtllm:kv_cache_utilization"]),
        new("prefix_cache_hit_rate", "prefix-cache hit rate as the server reports it (instantaneous; SGLang's understates reuse)", ServerMetricKind.Gauge, "fraction",
            ["vllm:gpu_prefix_cache_hit_rate", "sglang:cache_hit_rate", "trtllm_kv_cache_hit_rate", "trtllm:kv_cache_hit_rate"]),
        new("prefix_cache_hits", "prompt tokens found in the prefix cache", ServerMetricKind.Counter, "tokens",
            ["vllm:prefix_cache_hits_total", "vllm:prefix_cache_hits", "llamacpp:prompt_tokens_cached_total"]),
        new("prefix_cache_queries", "prompt tokens looked up in the prefix cache", ServerMetricKind.Counter, "tokens",
            ["vllm:prefix_cache_queries_total", "vllm:prefix_cache_queries"]),
        new("preemptions", "requests preempted (or retracted) to free KV cache", ServerMetricKind.Counter, "requests",
            ["vllm:num_preemptions_total", "vllm:num_preemptions", "sglang:num_retracted_reqs_total"]),
        new("retracted_requests", "requests retracted right now (SGLang's preemption)", ServerMetricKind.Gauge, "requests",
            ["sglang:num_retracted_reqs"]),
        new("prompt_tokens", "prompt tokens processed", ServerMetricKind.Counter, "tokens",
            ["vllm:prompt_tokens_total", "vllm:prompt_tokens", "sglang:prompt_tokens_total", "llamacpp:prompt_tokens_total", "trtllm_prompt_tokens_total", "tgi_request_input_length_sum"]),
        new("generation_tokens", "tokens generated", ServerMetricKind.Counter, "tokens",
            ["vllm:generation_tokens_total", "vllm:generation_tokens", "sglang:generation_tokens_total", "llamacpp:tokens_predicted_total", "trtllm_generation_tokens_total", "tgi_request_generated_tokens_sum"]),
        new("requests_finished", "requests the server finished", ServerMetricKind.Counter, "requests",
            ["vllm:request_success_total", "vllm:request_success", "sglang:num_requests_total", "trtllm_request_success_total", "trtllm:request_success_total", "tgi_request_success"]),
        new("ttft", "the server's time to first token", ServerMetricKind.Histogram, "s",
            ["vllm:time_to_first_token_seconds", "sglang:time_to_first_token_seconds", "trtllm_time_to_first_token_seconds", "trtllm:time_to_first_token_seconds"]),
        new("inter_token_latency", "the server's inter-token latency (TPOT where it has no ITL)", ServerMetricKind.Histogram, "s",
            ["vllm:inter_token_latency_seconds", "vllm:time_per_output_token_seconds", "sglang:inter_token_latency_seconds", "sglang:time_per_output_token_seconds", "trtllm_time_per_output_token_seconds", "trtllm:time_per_output_token_seconds", "tgi_request_mean_time_per_token_duration"]),
        new("e2e_latency", "the server's end-to-end request latency", ServerMetricKind.Histogram, "s",
            ["vllm:e2e_request_latency_seconds", "sglang:e2e_request_latency_seconds", "trtllm_e2e_request_latency_seconds", "trtllm:e2e_request_latency_seconds", "tgi_request_duration"]),
        new("queue_time", "time requests waited in the server's queue", ServerMetricKind.Histogram, "s",
            ["vllm:request_queue_time_seconds", "sglang:queue_time_seconds", "trtllm_request_queue_time_seconds", "trtllm:request_queue_time_seconds", "tgi_request_queue_duration"]),
    ];

    /// <summary>Which serving stack published these families, by their prefixes; "unknown" when none is recognised.</summary>
    public static string Server(IEnumerable<string> familyNames)
    {
        foreach (string name in familyNames)
        {
            string? server = name switch
            {
                _ when name.StartsWith("vllm:", StringComparison.Ordinal) => "vllm",
                _ when name.StartsWith("sglang:", StringComparison.Ordinal) => "sglang",
                _ when name.StartsWith("llamacpp:", StringComparison.Ordinal) => "llama.cpp",
                _ when name.StartsWith("trtllm_", StringComparison.Ordinal) || name.StartsWith("trtllm:", StringComparison.Ordinal) => "tensorrt-llm",
                _ when name.StartsWith("tgi_", StringComparison.Ordinal) => "tgi",
                _ => null,
            };
            if (server is not null)
            {
                return server;
            }
        }

        return "unknown";
    }
}
