using System.Reflection;

namespace Harness.Metrics;

/// <summary>
/// Every metric a result can carry, declared once. The result writer takes formulas from here
/// (<c>metric_definitions</c>), the Markdown and HTML views their labels and units, the gate its
/// direction, the Prometheus exporter its gauge names, and readers the keys they read. Adding a
/// metric means adding one field below. Keys never change within a schema version.
/// </summary>
public static class MetricCatalog
{
    // The run: requests and the window.
    public static readonly MetricDefinition RequestsOk = new("requests_ok", "count", Better.Higher, "requests that ended ok in the measured window") { Format = "0" };
    public static readonly MetricDefinition RequestsFailed = new("requests_failed", "count", Better.Lower, "errors plus timeouts in the measured window") { Format = "0" };
    public static readonly MetricDefinition RequestsError = new("requests_error", "count", Better.Lower, "requests that failed with an error") { Format = "0" };
    public static readonly MetricDefinition RequestsTimeout = new("requests_timeout", "count", Better.Lower, "requests that passed --timeout") { Format = "0" };
    public static readonly MetricDefinition RequestsCancelled = new("requests_cancelled", "count", Better.Neither, "requests cut short by cancellation") { Format = "0" };
    public static readonly MetricDefinition WarmupRequests = new("warmup_requests", "count", Better.Neither, "requests of the warm-up, never in the measured figures") { Format = "0" };

    public static readonly MetricDefinition DurationS = new("duration_s", "s", Better.Neither, "length of the measured window: first request start to last request end, or to the moment the stop rules closed the phase when that came later (an open loop's next arrival)")
    {
        Label = "duration",
        Prometheus = "harness_result_duration_seconds",
        Format = "0.0",
    };

    public static readonly MetricDefinition ThroughputPerS = new(
        "throughput_per_s", "{unit}/s", Better.Higher, "output {unit} of ok requests / measured window (first request start to last request end), warm-up excluded")
    {
        Label = "throughput",
        Prometheus = "harness_result_throughput_per_second",
        Format = "0.##",
    };

    public static readonly MetricDefinition RequestsPerS = new("requests_per_s", "req/s", Better.Higher, "ok requests / measured window") { Label = "req/s", Format = "0.##" };
    public static readonly MetricDefinition InputUnits = new("input_units", "{unit}", Better.Neither, "input work units (samples or prompt tokens) of ok requests") { Format = "0" };
    public static readonly MetricDefinition OutputUnits = new("output_units", "{unit}", Better.Neither, "output work units (samples or generated tokens) of ok requests") { Format = "0" };

    // Latency distributions (milliseconds; percentiles nearest-rank).
    public static readonly MetricDefinition LatencyMs = Distribution(
        "latency_ms", "latency", "harness_result_latency_seconds",
        "end of request minus its scheduled send time, ok requests only; percentiles nearest-rank (value at rank ceil(p*n)); median_ci: 95% distribution-free order-statistic interval");

    public static readonly MetricDefinition TtftMs = Distribution("ttft_ms", "TTFT", "harness_result_ttft_seconds", "first output token on the host minus scheduled send");
    public static readonly MetricDefinition TpotMs = Distribution("tpot_ms", "TPOT", "harness_result_tpot_seconds", "(request end - first token) / (token steps - 1), per request");
    public static readonly MetricDefinition ItlMs = Distribution("itl_ms", "ITL", "harness_result_itl_seconds", "gap between consecutive token steps on the host");

    // Service-level objectives.
    public static readonly MetricDefinition GoodputPerS = new(
        "goodput_per_s", "req/s", Better.Higher, "ok requests whose own latency (and TTFT, TPOT when given) met every SLO limit / measured window; present only when --slo is given")
    {
        Label = "goodput",
        Prometheus = "harness_result_goodput_requests_per_second",
        Format = "0.##",
    };

    public static readonly MetricDefinition SloMetRequests = new("slo_met_requests", "count", Better.Higher, "ok requests that met every SLO limit") { Format = "0" };

    public static readonly MetricDefinition GoodputPercent = new(
        "goodput_percent", "%", Better.Higher, "requests that met every SLO limit / all measured requests (ok, failed and timed out) x 100; present only when --slo is given")
    {
        Label = "goodput %",
        Prometheus = "harness_result_goodput_percent",
        Format = "0.#",
    };

    public static readonly MetricDefinition GoodputTokensPerS = new(
        "goodput_tokens_per_s", "tokens/s", Better.Higher, "output tokens of the requests that met every SLO limit / measured window (token goodput); present only when --slo is given")
    {
        Label = "token goodput",
        Prometheus = "harness_result_goodput_tokens_per_second",
        Format = "0.#",
    };

    // Request-level endpoints (an HTTP server streaming its tokens).
    public static readonly MetricDefinition TtfoMs = Distribution(
        "ttfo_ms", "TTFO", "harness_result_ttfo_seconds",
        "first output token (answer text or tool-call arguments; reasoning tokens do not count) on the host minus scheduled send; ttft_ms counts a token of any kind");

    public static readonly MetricDefinition ItlEventMs = Distribution(
        "itl_event_ms", "ITL per event", "harness_result_itl_event_seconds",
        "gap between consecutive streamed events that carried tokens, as read by the client (one event may carry several tokens; itl_ms shares each gap among its tokens)");

    public static readonly MetricDefinition TtftFromSendMs = Distribution(
        "ttft_from_send_ms", "TTFT from send", null,
        "first token of any kind on the host minus the moment the request was first handed to the HTTP stack (a request sent again "
        + "after its reused connection died counts from its first send; ttft_ms counts from the scheduled send, so queueing in the "
        + "client counts there)");

    public static readonly MetricDefinition LatencyFromSendMs = Distribution(
        "latency_from_send_ms", "latency from send", null,
        "end of the response minus the moment the request was first sent (its first send when it was sent again); "
        + "latency_ms counts from the scheduled send (coordinated-omission free)");

    public static readonly MetricDefinition SendLagMs = Distribution(
        "send_lag_ms", "send lag", "harness_result_send_lag_seconds",
        "moment the request was sent minus its scheduled time: waiting for a free worker plus the client's own delay; its p99 judges whether the load generator kept its schedule");

    public static readonly MetricDefinition ClientCpuCores = new(
        "client_cpu_cores", "cores", Better.Lower,
        "CPU time of the threads that built, sent and read the requests (HTTP, SSE and JSON parsing) in the window / window")
    {
        Label = "client CPU",
        Format = "0.###",
    };

    public static readonly MetricDefinition ClientCpuUsPerToken = new(
        "client_cpu_us_per_token", "µs", Better.Lower, "client CPU time in the window / output tokens of the ok requests")
    {
        Label = "client CPU per token",
        Format = "0.##",
    };

    // The server under test on this machine (telemetry.server): its process tree, read with the CPU telemetry.
    public static readonly MetricDefinition ServerCpuCores = new(
        "server_cpu_cores", "cores", Better.Lower,
        "utime + stime of the server's process tree (the process listening on the URL's loopback port, or --server-pid, and its"
        + " children) in the window / window")
    {
        Label = "server CPU",
        Prometheus = "harness_result_server_cpu_cores",
        Format = "0.###",
    };

    public static readonly MetricDefinition ServerCpuSPerToken = new(
        "server_cpu_s_per_token", "s", Better.Lower,
        "server CPU time in the window (telemetry.server.cpu_s) / output tokens of the ok requests")
    {
        Label = "server CPU per token",
        Prometheus = "harness_result_server_cpu_seconds_per_token",
        Format = "0.#####",
    };

    public static readonly MetricDefinition ServerRssPeakBytes = new(
        "server_rss_peak_bytes", "B", Better.Lower,
        "highest resident memory of the server's process tree, summed over its processes at one reading in the window")
    {
        Label = "server peak RSS",
        Prometheus = "harness_result_server_rss_peak_bytes",
        Format = "0",
    };

    public static readonly MetricDefinition OutputLengthHeld = Fraction(
        "output_length_held", "output length held",
        "ok requests whose generated tokens (the server's usage, else the client's count) equal the max_tokens asked for / ok requests", null);

    public static readonly MetricDefinition ConnectionRetries = new(
        "connection_retries", "count", Better.Neither,
        "requests of the window sent a second time, on a fresh connection, because the reused connection they went out on died before any "
        + "byte of the response (the server had closed or reset it; serving.connection_retries has the reasons); its second send decides "
        + "whether it ends ok, and its TTFT and latency count from its first send (ttft_from_send_ms, latency_from_send_ms) as from its "
        + "scheduled time (ttft_ms, latency_ms)")
    {
        Label = "connection retries",
        Format = "0",
    };

    // Energy over the window.
    public static readonly MetricDefinition EnergyJ = new(
        "energy_j", "J", Better.Lower,
        "energy of the backend's device over the measured window: delta of NVML's total-energy counter (mJ) for a GPU, of RAPL's package counters for a CPU backend, each read at the window edges by interpolating between samples; trapezoidal integration of sampled power only where no counter exists (telemetry.energy.method says which)")
    {
        Label = "energy",
        Prometheus = "harness_result_energy_joules",
    };

    public static readonly MetricDefinition AvgPowerW = new("avg_power_w", "W", Better.Neither, "energy_j / measured window")
    {
        Label = "average power",
        Prometheus = "harness_result_average_power_watts",
        Format = "0.#",
    };

    public static readonly MetricDefinition JoulesPerUnit = new("joules_per_unit", "J", Better.Lower, "energy_j / output {unit} of ok requests")
    {
        Label = "J per unit",
        Prometheus = "harness_result_joules_per_unit",
        Format = "0.####",
    };

    public static readonly MetricDefinition JoulesPerToken = new("joules_per_token", "J", Better.Lower, "energy_j / output tokens of ok requests (token workloads only)")
    {
        Label = "J/token",
        Prometheus = "harness_result_joules_per_token",
        Format = "0.####",
    };

    // Decoder LLMs (generate).
    public static readonly MetricDefinition PrefillTokensPerS = Rate("prefill_tokens_per_s", "batch x prompt tokens / mean TTFT (TTFT = prefill + first token to the host)", "harness_result_prefill_tokens_per_second");
    public static readonly MetricDefinition OutputTokensPerS = Rate("output_tokens_per_s", "generated tokens of ok requests / measured window (prefill included)", "harness_result_output_tokens_per_second");
    public static readonly MetricDefinition DecodeTokensPerS = Rate("decode_tokens_per_s", "batch / mean TPOT (decode steps only)", "harness_result_decode_tokens_per_second");

    public static readonly MetricDefinition FlopsPerToken = Fact(
        "flops_per_token", "FLOP",
        "2 x W_matmul + 4 x layers x heads x head_dim x context; W_matmul = weights of all matrix products a token passes (q|k|v, attention out, MLP of every layer, and the LM head, a tied embedding counted as the LM head; with experts: the router, the k routed and the shared experts); context = keys attended (the token included; a sliding-window layer at most its window); norms, biases, softmax and activations not counted");

    public static readonly MetricDefinition PrefillFlops = Fact(
        "prefill_flops", "FLOP",
        "per sequence of P prompt tokens: 2 x W_layers x P + 4 x layers x hidden x P(P+1)/2 (causal) + 2 x hidden x vocab (LM head for the last position only)");

    public static readonly MetricDefinition BytesPerDecodeStep = Fact(
        "bytes_per_decode_step", "B",
        "W_streamed x weight bytes + batch x context x kv_bytes_per_token (KV read) + batch x kv_bytes_per_token (KV written); W_streamed = all parameters but the gathered embedding tables, plus the LM head (with experts: only the routed experts the batch touches, E x (1 - (1 - k/E)^batch) per layer); kv_bytes_per_token = 2 x layers x kv_heads x head_dim x kv bytes; context = mean keys per decode step = prompt + new/2");

    public static readonly MetricDefinition PrefillFlopsPerS = new("prefill_flops_per_s", "FLOP/s", Better.Higher, "batch x prefill_flops / mean TTFT") { Format = "G4" };
    public static readonly MetricDefinition DecodeFlopsPerS = new("decode_flops_per_s", "FLOP/s", Better.Higher, "batch x flops_per_token / mean TPOT") { Format = "G4" };
    public static readonly MetricDefinition DecodeBytesPerS = new("decode_bytes_per_s", "B/s", Better.Higher, "bytes_per_decode_step / mean TPOT") { Format = "G4" };

    public static readonly MetricDefinition Mfu = Fraction("mfu", "MFU", "prefill MFU: prefill_flops_per_s / catalog peak FLOP/s of the dtype", "harness_result_mfu_ratio");
    public static readonly MetricDefinition MfuDecode = Fraction("mfu_decode", "decode MFU", "decode_flops_per_s / catalog peak FLOP/s of the dtype", null);
    public static readonly MetricDefinition Mbu = Fraction("mbu", "MBU", "decode MBU: decode_bytes_per_s / catalog peak memory bandwidth", "harness_result_mbu_ratio");
    public static readonly MetricDefinition MfuMeasured = Fraction("mfu_measured", "MFU (measured ceiling)", "prefill_flops_per_s / measured GEMM FLOP/s", null);
    public static readonly MetricDefinition MbuMeasured = Fraction("mbu_measured", "MBU (measured ceiling)", "decode_bytes_per_s / measured copy bandwidth, read + write", null);
    public static readonly MetricDefinition PeakFlopsPerS = Fact("peak_flops_per_s", "FLOP/s", "catalog peak FLOP/s used for mfu (or fraction_of_peak)");
    public static readonly MetricDefinition PeakBytesPerS = Fact("peak_bytes_per_s", "B/s", "catalog peak memory bandwidth used for mbu (or fraction_of_peak)");
    public static readonly MetricDefinition MeasuredFlopsPerS = Fact("measured_flops_per_s", "FLOP/s", "measured ceiling used for mfu_measured");
    public static readonly MetricDefinition MeasuredBytesPerS = Fact("measured_bytes_per_s", "B/s", "measured ceiling used for mbu_measured");

    // Ceilings (gemm, copy).
    public static readonly MetricDefinition AchievedFlopsPerS = new("achieved_flops_per_s", "FLOP/s", Better.Higher, "2 x m x n x k x repeats / median request latency") { Format = "G4" };
    public static readonly MetricDefinition AchievedTflops = new("achieved_tflops", "TFLOP/s", Better.Higher, "achieved_flops_per_s / 1e12") { Format = "0.##" };
    public static readonly MetricDefinition AchievedBytesPerS = new("achieved_bytes_per_s", "B/s", Better.Higher, "bytes moved per request (read + write, or read only) / median request latency") { Format = "G4" };
    public static readonly MetricDefinition AchievedGbPerS = new("achieved_gb_per_s", "GB/s", Better.Higher, "achieved_bytes_per_s / 1e9") { Format = "0.#" };
    public static readonly MetricDefinition FractionOfPeak = Fraction("fraction_of_peak", "of peak", "achieved rate / catalog peak of the device", null);

    // Agents.
    public static readonly MetricDefinition JobsPerHour = new(
        "jobs_per_hour", "jobs/h", Better.Higher, "turns per second x 3600 / mean turns per job of the profile (stable even when few jobs end inside a short window)")
    {
        Label = "jobs/h",
        Prometheus = "harness_result_agent_jobs_per_hour",
        Format = "0.#",
    };

    public static readonly MetricDefinition TurnsPerS = new("turns_per_s", "turns/s", Better.Higher, "turns (an LLM step and its tool calls) that ended ok in the window / window")
    {
        Label = "turns/s",
        Prometheus = "harness_result_agent_turns_per_second",
    };

    // What an agents run measured itself (its turns and jobs: an agents run makes no requests of the engine's).
    public static readonly MetricDefinition TurnLatencyMs = Distribution(
        "turn_latency_ms", "turn latency", "harness_result_agent_turn_latency_seconds",
        "an agent's LLM step submitted to its last tool call done, ok turns only; percentiles nearest-rank (value at rank ceil(p*n))");

    public static readonly MetricDefinition TurnsOk = new(
        "turns_ok", "count", Better.Higher, "turns that ended ok in the window, warm-up excluded")
    {
        Format = "0",
    };

    public static readonly MetricDefinition TurnsFailed = new(
        "turns_failed", "count", Better.Lower, "turns in the window with a failed LLM step or tool call")
    {
        Format = "0",
    };

    public static readonly MetricDefinition JobsCompleted = new(
        "jobs_completed", "count", Better.Higher, "jobs that began after the warm-up and ended in the window with every turn ok")
    {
        Format = "0",
    };

    public static readonly MetricDefinition LlmBusyFraction = Fraction(
        "llm_busy_fraction", "LLM busy",
        "batch-slot occupancy of the LLM device over the window: each iteration's time x (sequences joining or decoding in it) / max batch, summed, / window; equals the plain busy-time fraction at max batch 1 (TensorRT-LLM's 'slots busy' notion)",
        "harness_result_agent_llm_busy_ratio");

    public static readonly MetricDefinition LlmActiveFraction = Fraction(
        "llm_active_fraction", "LLM active", "share of the window in which the LLM device ran any iteration (what nvidia-smi's utilization shows)", "harness_result_agent_llm_active_ratio");

    public static readonly MetricDefinition LlmMeanDecodeBatch = new("llm_mean_decode_batch", "sequences", Better.Higher, "decoding sequences per iteration, averaged over iterations that decode") { Format = "0.#" };
    public static readonly MetricDefinition TokensPerS = Rate("tokens_per_s", "tokens produced by the LLM (one per sequence per iteration) / window", null);

    public static readonly MetricDefinition CpuUtilization = Fraction(
        "cpu_utilization", "CPU", "process CPU time including finished subprocesses / wall time / logical cores, over the window", "harness_result_agent_cpu_utilization_ratio");

    public static readonly MetricDefinition ToolShareOfTurnTime = Fraction(
        "tool_share_of_turn_time", "tool share of turn",
        "sum over turns of (last tool done - LLM step done) / sum of (last tool done - LLM step submitted): tool time with its queueing, as TraceLab counts it", null);

    public static readonly MetricDefinition ToolWorkerBusyFraction = Fraction("tool_worker_busy_fraction", "tool workers busy", "time tool workers held a call / (workers x window)", "harness_result_agent_tool_worker_busy_ratio");
    public static readonly MetricDefinition ToolQueueMsP50 = Milliseconds("tool_queue_ms_p50", "tool queue p50", "agent asked for a tool call to the call starting on a worker, median");
    public static readonly MetricDefinition ToolQueueMsP90 = Milliseconds("tool_queue_ms_p90", "tool queue p90", "agent asked for a tool call to the call starting on a worker, 90th percentile");
    public static readonly MetricDefinition ToolLatencyMsP50 = Milliseconds("tool_latency_ms_p50", "tool latency p50", "tool call start to end on its worker, every outcome, median");
    public static readonly MetricDefinition JobCompletionTimeMsP50 = Milliseconds("job_completion_time_ms_p50", "job time p50", "first LLM step submitted to last tool call done, jobs completed in the window, median");

    public static readonly MetricDefinition NonToolCpuFraction = new(
        "non_tool_cpu_fraction", "fraction", Better.Lower,
        "(process CPU - tool CPU on worker threads - subprocess CPU) / (tool CPU + subprocess CPU): the scheduler, the LLM driver thread, GC and pipe readers");

    public static readonly MetricDefinition SchedulerOverheadFraction = new(
        "scheduler_overhead_fraction", "fraction", Better.Lower,
        "non-tool CPU less the LLM driver thread's CPU, over tool CPU: the coordinator, thread wake-ups, GC and pipe readers, an upper bound on the scheduler's own cost");

    // Cost (from the price given with --instance/--price, or by harness cost).
    public static readonly MetricDefinition UsdPerHour = new("usd_per_hour", "USD/h", Better.Lower, "the offer's price for the GPUs the run held (or the whole machine for a CPU run), per hour") { Format = "0.####" };

    public static readonly MetricDefinition UsdPerMtok = new(
        "usd_per_mtok", "USD/Mtok", Better.Lower, "usd_per_hour / (output tokens per second x 3600) x 1e6")
    {
        Label = "$/Mtok",
        Prometheus = "harness_result_usd_per_million_tokens",
        Format = "0.####",
    };

    public static readonly MetricDefinition UsdPerJob = new("usd_per_job", "USD", Better.Lower, "usd_per_hour / jobs_per_hour")
    {
        Label = "$/job",
        Prometheus = "harness_result_usd_per_job",
        Format = "0.######",
    };

    private static readonly Lazy<IReadOnlyList<MetricDefinition>> AllMetrics = new(() =>
        typeof(MetricCatalog).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.FieldType == typeof(MetricDefinition))
            .Select(f => (MetricDefinition)f.GetValue(null)!)
            .ToList());

    private static readonly Lazy<IReadOnlyDictionary<string, MetricDefinition>> ByKey = new(() => All.ToDictionary(m => m.Key, StringComparer.Ordinal));

    /// <summary>Every declared metric, in declaration order.</summary>
    public static IReadOnlyList<MetricDefinition> All => AllMetrics.Value;

    /// <summary>The metric stored under <paramref name="key"/>; null for a key this build does not declare.</summary>
    public static MetricDefinition? Find(string key) => ByKey.Value.GetValueOrDefault(key);

    /// <summary>The metric stored under <paramref name="key"/>; throws for an undeclared key (a programming error).</summary>
    public static MetricDefinition Get(string key) =>
        Find(key) ?? throw new ArgumentException($"metric '{key}' is not in the catalog (Metrics/MetricCatalog.cs)", nameof(key));

    /// <summary>
    /// The cost per million output units of a run counting <paramref name="unit"/>: usd_per_mtok for
    /// tokens, else a metric of the same formula named after the unit (usd_per_m_samples).
    /// </summary>
    public static MetricDefinition CostPerMillion(string unit) => unit == "tokens"
        ? UsdPerMtok
        : new MetricDefinition($"usd_per_m_{unit}", $"USD/M{unit}", Better.Lower, $"usd_per_hour / (output {unit} per second x 3600) x 1e6") { Label = $"$/M{unit}", Format = "0.####" };

    private static MetricDefinition Distribution(string key, string label, string? prometheus, string definition) =>
        new(key, "ms", Better.Lower, definition) { Shape = MetricShape.Distribution, Label = label, Prometheus = prometheus, PrometheusScale = 0.001 };

    private static MetricDefinition Rate(string key, string definition, string? prometheus) =>
        new(key, "tokens/s", Better.Higher, definition) { Prometheus = prometheus, Format = "0.#" };

    private static MetricDefinition Fraction(string key, string label, string definition, string? prometheus) =>
        new(key, "fraction", Better.Higher, definition) { Label = label, Prometheus = prometheus, Format = "0.####" };

    private static MetricDefinition Fact(string key, string unit, string definition) =>
        new(key, unit, Better.Neither, definition) { Format = "G4" };

    private static MetricDefinition Milliseconds(string key, string label, string definition) =>
        new(key, "ms", Better.Lower, definition) { Label = label, Format = "0.###" };
}
