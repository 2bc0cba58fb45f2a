using System.Globalization;
using System.Text;
using Harness.Decoding;

namespace Harness.Serving;

/// <summary>
/// The server's /metrics in Prometheus text format (0.0.4), named as vLLM names them
/// (vllm:num_requests_running, vllm:prompt_tokens_total, vllm:time_to_first_token_seconds... with
/// model_name and engine labels, vLLM's buckets and finished_reason values), so that a reader or a
/// dashboard made for vLLM reads them; what vLLM has no name for is harness_serve_*. The gauges are
/// read from the endpoint at each scrape. Times are server-side: from the request's arrival at its
/// handler to its tokens leaving the device. Written here rather than with prometheus-net: its
/// 8.2.1 refuses vLLM's names when a metric is created, with an ArgumentException "Metric name
/// 'vllm:num_requests_running' does not match regex '^[a-zA-Z_][a-zA-Z0-9_]*$'."
/// (PrometheusNetNamesTests holds it). promtool's linter objects to those colons and to nothing else.
/// </summary>
public sealed class ServerMetrics
{
    private static readonly double[] TtftBuckets = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0];
    private static readonly double[] TokenBuckets = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0];
    private static readonly double[] RequestBuckets = [0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0];

    /// <summary>vLLM's finished_reason values, and the reasons a request is refused before it generates.</summary>
    public static readonly string[] FinishReasons = ["stop", "length", "abort"];

    public static readonly string[] RefusalReasons = ["queue_full", "shutting_down", "invalid"];

    private readonly InProcessLlmEndpoint _endpoint;
    private readonly string _labels;
    private readonly Counter _promptTokens = new();
    private readonly Counter _generationTokens = new();
    private readonly Dictionary<string, Counter> _success = FinishReasons.ToDictionary(r => r, _ => new Counter());
    private readonly Dictionary<string, Counter> _refused = RefusalReasons.ToDictionary(r => r, _ => new Counter());
    private readonly Histogram _ttft = new(TtftBuckets);
    private readonly Histogram _itl = new(TokenBuckets);
    private readonly Histogram _tpot = new(TokenBuckets);
    private readonly Histogram _e2e = new(RequestBuckets);
    private readonly Histogram _queue = new(RequestBuckets);
    private readonly Histogram _promptPerRequest;
    private readonly Histogram _generationPerRequest;
    private readonly Histogram _maxTokens;

    public ServerMetrics(InProcessLlmEndpoint endpoint, ServedModel model)
    {
        _endpoint = endpoint;
        _labels = $"model_name=\"{Escape(model.Name)}\",engine=\"0\"";
        double[] counts = OneTwoFive(model.Context);
        _promptPerRequest = new Histogram(counts);
        _generationPerRequest = new Histogram(counts);
        _maxTokens = new Histogram(counts);
    }

    public void Refused(string reason) => _refused[reason].Add(1);

    public void Admitted(int promptTokens, double queueSeconds)
    {
        _promptTokens.Add(promptTokens);
        _queue.Observe(queueSeconds);
    }

    public void FirstToken(double ttftSeconds)
    {
        _generationTokens.Add(1);
        _ttft.Observe(ttftSeconds);
    }

    public void NextToken(double gapSeconds)
    {
        _generationTokens.Add(1);
        _itl.Observe(gapSeconds);
    }

    /// <param name="reason">stop, length or abort.</param>
    /// <param name="decodeSeconds">First token to last (null with fewer than two tokens).</param>
    public void Finished(string reason, double e2eSeconds, int promptTokens, int generated, int? maxTokens, double? decodeSeconds)
    {
        _success[reason].Add(1);
        _e2e.Observe(e2eSeconds);
        _promptPerRequest.Observe(promptTokens);
        _generationPerRequest.Observe(generated);
        if (maxTokens is { } m)
        {
            _maxTokens.Observe(m);
        }

        if (decodeSeconds is { } d && generated > 1)
        {
            _tpot.Observe(d / (generated - 1));
        }
    }

    /// <summary>The exposition, gauges read now.</summary>
    public string Render()
    {
        LlmOccupancy o = _endpoint.Occupancy;
        var text = new StringBuilder(16_384);
        Gauge(text, "vllm:num_requests_running", "Number of requests in model execution batches.", o.Running);
        Gauge(text, "vllm:num_requests_waiting", "Number of requests waiting to be processed.", o.Waiting);
        Gauge(text, "vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.", o.Slots == 0 ? 0 : (double)o.SlotsInUse / o.Slots);
        Gauge(text, "harness_serve_kv_cache_slots_in_use", "KV-cache slots held by a sequence (one per running request).", o.SlotsInUse);
        Gauge(text, "harness_serve_kv_cache_slots", "KV-cache slots of the decoder (the batch at most).", o.Slots);
        Header(text, "vllm:prompt_tokens_total", "Number of prefill tokens processed.", "counter");
        Sample(text, "vllm:prompt_tokens_total", null, _promptTokens.Value);
        Header(text, "vllm:generation_tokens_total", "Number of generation tokens processed.", "counter");
        Sample(text, "vllm:generation_tokens_total", null, _generationTokens.Value);
        Header(text, "vllm:request_success_total", "Count of processed requests by how they finished: stop (an end token or a stop string), length (max_tokens), abort (the client left, or shutdown).", "counter");
        foreach ((string reason, Counter c) in _success)
        {
            Sample(text, "vllm:request_success_total", $"finished_reason=\"{reason}\"", c.Value);
        }

        Header(text, "harness_serve_requests_refused_total", "Requests refused before generating: queue_full (429), shutting_down (503), invalid (400, 413).", "counter");
        foreach ((string reason, Counter c) in _refused)
        {
            Sample(text, "harness_serve_requests_refused_total", $"reason=\"{reason}\"", c.Value);
        }

        _ttft.Write(text, "vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.", _labels);
        _itl.Write(text, "vllm:inter_token_latency_seconds", "Histogram of inter-token latency in seconds.", _labels);
        _tpot.Write(text, "vllm:time_per_output_token_seconds", "Histogram of time per output token in seconds (per request: first token to last over the tokens after the first).", _labels);
        _e2e.Write(text, "vllm:e2e_request_latency_seconds", "Histogram of e2e request latency in seconds.", _labels);
        _queue.Write(text, "vllm:request_queue_time_seconds", "Histogram of time spent in WAITING phase for request.", _labels);
        _promptPerRequest.Write(text, "vllm:request_prompt_tokens", "Number of prefill tokens processed.", _labels);
        _generationPerRequest.Write(text, "vllm:request_generation_tokens", "Number of generation tokens processed.", _labels);
        _maxTokens.Write(text, "vllm:request_params_max_tokens", "Histogram of the max_tokens request parameter.", _labels);
        return text.ToString();
    }

    private void Gauge(StringBuilder text, string name, string help, double value)
    {
        Header(text, name, help, "gauge");
        Sample(text, name, null, value);
    }

    private static void Header(StringBuilder text, string name, string help, string type) =>
        text.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n').Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');

    private void Sample(StringBuilder text, string name, string? extraLabel, double value)
    {
        text.Append(name).Append('{').Append(_labels);
        if (extraLabel is not null)
        {
            text.Append(',').Append(extraLabel);
        }

        text.Append("} ").Append(Number(value)).Append('\n');
    }

    private static string Number(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    private static string Escape(string label) => label.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    /// <summary>1, 2, 5, 10, 20, 50... up to <paramref name="max"/> (vLLM's token-count buckets).</summary>
    private static double[] OneTwoFive(int max)
    {
        var buckets = new List<double>();
        for (double scale = 1; ; scale *= 10)
        {
            foreach (int m in new[] { 1, 2, 5 })
            {
                if (m * scale > max)
                {
                    return [.. buckets];
                }

                buckets.Add(m * scale);
            }
        }
    }

    /// <summary>A monotonic count, added to from any thread.</summary>
    private sealed class Counter
    {
        private long _value;

        public long Value => Interlocked.Read(ref _value);

        public void Add(long n) => Interlocked.Add(ref _value, n);
    }

    /// <summary>Bucket counts and a sum, observed from any thread (one lock; observations are per token at most).</summary>
    private sealed class Histogram(double[] bounds)
    {
        private readonly long[] _counts = new long[bounds.Length + 1];
        private double _sum;

        public void Observe(double value)
        {
            int i = Array.BinarySearch(bounds, value);
            int bucket = i >= 0 ? i : ~i;
            lock (_counts)
            {
                _counts[bucket]++;
                _sum += value;
            }
        }

        public void Write(StringBuilder text, string name, string help, string labels)
        {
            long[] counts;
            double sum;
            lock (_counts)
            {
                counts = (long[])_counts.Clone();
                sum = _sum;
            }

            Header(text, name, help, "histogram");
            long cumulative = 0;
            for (int b = 0; b <= bounds.Length; b++)
            {
                cumulative += counts[b];
                string le = b < bounds.Length ? Number(bounds[b]) : "+Inf";
                text.Append(name).Append("_bucket{").Append(labels).Append(",le=\"").Append(le).Append("\"} ").Append(cumulative).Append('\n');
            }

            text.Append(name).Append("_sum{").Append(labels).Append("} ").Append(Number(sum)).Append('\n');
            text.Append(name).Append("_count{").Append(labels).Append("} ").Append(cumulative).Append('\n');
        }
    }
}
