namespace Harness.Metrics;

/// <summary>
/// Every key the harness writes under a result's <c>config</c>, declared once (as
/// <see cref="MetricCatalog"/> declares the metrics). Writers and readers take the names from here;
/// tests/Harness.Tests/Metrics/CatalogLiteralTests fails on any of them written as a string literal
/// elsewhere in src. Keys never change within a schema version: a run's config is what scripts and
/// the comparability check read. Values are written as the unit in the key's name (_s seconds,
/// _ms milliseconds, _bytes bytes, _hz hertz); a key with no unit holds a count, a name or a text.
/// </summary>
public static class ConfigKeys
{
    // The run's settings (ResultBuilder): the scenario and its stop rules.
    /// <summary>The scenario's name as given (single, closed:N, poisson:R...).</summary>
    public const string Scenario = "scenario";

    /// <summary>Workers (concurrent requests) of the scenario.</summary>
    public const string Workers = "workers";

    /// <summary>Samples or sequences per request.</summary>
    public const string Batch = "batch";

    /// <summary>The warm-up as given (a duration or a count of requests).</summary>
    public const string Warmup = "warmup";

    /// <summary>Shortest measured window, in seconds.</summary>
    public const string MinDurationS = "min_duration_s";

    /// <summary>Fewest measured requests.</summary>
    public const string MinRequests = "min_requests";

    /// <summary>Longest measured window, in seconds.</summary>
    public const string MaxDurationS = "max_duration_s";

    /// <summary>Whether measuring went on until the tail percentile had enough samples (--until-tail).</summary>
    public const string UntilTail = "until_tail";

    /// <summary>Per-request timeout, in seconds; null when none.</summary>
    public const string RequestTimeoutS = "request_timeout_s";

    /// <summary>Highest error rate (failed / all requests) of a valid run.</summary>
    public const string MaxErrorRate = "max_error_rate";

    /// <summary>Seed of the scenario's and the workload's random choices.</summary>
    public const string Seed = "seed";

    /// <summary>The tail percentile the stop rules and validity look at (0.99 for p99).</summary>
    public const string TailPercentile = "tail_percentile";

    /// <summary>The SLO limits as given (a list of texts such as ttft_p99&lt;500ms); null when none.</summary>
    public const string Slo = "slo";

    /// <summary>Ticks per second of the clock that timed the run, in hertz.</summary>
    public const string ClockFrequencyHz = "clock_frequency_hz";

    // The request of the command line (EngineMeasurement, OutputOptions, SweepRunner).
    /// <summary>The backend as given (onnx:cuda, torch:cpu, openai:URL...).</summary>
    public const string Backend = "backend";

    /// <summary>Intra-op threads asked for (--threads); null for the backend's default.</summary>
    public const string Threads = "threads";

    /// <summary>Inter-op threads asked for (--inter-op-threads); null for the backend's default.</summary>
    public const string InterOpThreads = "inter_op_threads";

    /// <summary>Graph optimization level asked for (--optimization).</summary>
    public const string Optimization = "optimization";

    /// <summary>The model path as given (--model); null when none.</summary>
    public const string ModelPathOption = "model_path_option";

    /// <summary>Input shapes given with --shape, name to dimensions (1x3x224x224); null when none.</summary>
    public const string Shapes = "shapes";

    /// <summary>The --set key=value pairs as given; null when none.</summary>
    public const string Set = "set";

    /// <summary>The whole command line that ran, "harness ..." (--record-command).</summary>
    public const string CommandLine = "command_line";

    /// <summary>What a sweep varied (rate, concurrency, repeat, slo_search, ab), for a point of a multi-run job.</summary>
    public const string SweepKind = "sweep_kind";

    /// <summary>The point's label within its sweep.</summary>
    public const string SweepPoint = "sweep_point";

    /// <summary>The offer the run was priced with (an object: instance, pricing, value, unit, date, source...).</summary>
    public const string Price = "price";

    /// <summary>GPUs the run held, which a per-GPU price charges.</summary>
    public const string Gpus = "gpus";

    // Model workloads (ONNX and Torch).
    /// <summary>The model in words (name and package it came from).</summary>
    public const string Model = "model";

    /// <summary>Full path of the model file or of the generated decoder graph.</summary>
    public const string ModelPath = "model_path";

    /// <summary>Size of the model file, in bytes.</summary>
    public const string ModelBytes = "model_bytes";

    /// <summary>ONNX Runtime execution provider (CUDAExecutionProvider or CPUExecutionProvider).</summary>
    public const string ExecutionProvider = "execution_provider";

    /// <summary>CUDA device index.</summary>
    public const string DeviceId = "device_id";

    /// <summary>The device in words (a ceiling workload's GPU or CPU name).</summary>
    public const string Device = "device";

    /// <summary>ONNX Runtime graph optimization level in effect.</summary>
    public const string GraphOptimization = "graph_optimization";

    /// <summary>ONNX Runtime intra-op threads in effect.</summary>
    public const string IntraOpThreads = "intra_op_threads";

    /// <summary>Model inputs, name to shape (1x3x224x224).</summary>
    public const string Inputs = "inputs";

    /// <summary>Model outputs, name to shape.</summary>
    public const string Outputs = "outputs";

    /// <summary>The tokenizer in words (minilm), or the name of the tokenizer an endpoint run counts with.</summary>
    public const string Tokenizer = "tokenizer";

    /// <summary>Tokens per sentence of minilm.</summary>
    public const string SequenceLength = "sequence_length";

    /// <summary>Distinct sentences minilm cycles through.</summary>
    public const string Sentences = "sentences";

    /// <summary>Where libtorch was loaded from (packaged or a path).</summary>
    public const string Libtorch = "libtorch";

    /// <summary>TorchSharp's device (cpu, cuda:0).</summary>
    public const string TorchDevice = "torch_device";

    /// <summary>torch.get_num_threads() in effect.</summary>
    public const string TorchThreads = "torch_threads";

    /// <summary>OMP_WAIT_POLICY as libtorch saw it; null when unset.</summary>
    public const string OmpWaitPolicy = "omp_wait_policy";

    // llama.cpp (llamacpp:cpu, LLamaSharp's bundled build).
    /// <summary>The llama.cpp commit bundled and the loaded ggml's version and commit.</summary>
    public const string LlamaCppVersion = "llamacpp_version";

    /// <summary>Whose build of llama.cpp ran (LLamaSharp's bundled CPU build) and its CPU variant (avx512, avx2...).</summary>
    public const string LlamaCppBuild = "llamacpp_build";

    /// <summary>Path of the libllama.so the process loaded.</summary>
    public const string LlamaCppLibrary = "llamacpp_library";

    /// <summary>llama_print_system_info(): the CPU features the loaded build uses.</summary>
    public const string LlamaCppSystemInfo = "llamacpp_system_info";

    /// <summary>n_threads and n_threads_batch of the context.</summary>
    public const string LlamaCppThreads = "llamacpp_threads";

    /// <summary>The GGUF file's tensor types: tensors and share of the weights per type.</summary>
    public const string LlamaCppTensorTypes = "llamacpp_tensor_types";

    /// <summary>Element type of llama.cpp's KV cache (f32 or f16).</summary>
    public const string LlamaCppKvType = "llamacpp_kv_type";

    // Ceilings (gemm, copy).
    /// <summary>Rows of A and C of gemm.</summary>
    public const string M = "m";

    /// <summary>Columns of B and C of gemm.</summary>
    public const string N = "n";

    /// <summary>Inner dimension of gemm.</summary>
    public const string K = "k";

    /// <summary>Element type (fp32, fp16, bf16...; int8/int4 for weight-only quantized decoders).</summary>
    public const string Dtype = "dtype";

    /// <summary>The KV cache's (and activations') element type where it differs from the weights' (quantized weights).</summary>
    public const string KvDtype = "kv_dtype";

    /// <summary>Weight-only quantization in words: format, block, zero points, kernel, accuracy level, blocks' origin.</summary>
    public const string WeightQuantization = "weight_quantization";

    /// <summary>Weights per quantization block (one scale each): <c>--set quant_block=N</c>.</summary>
    public const string QuantBlock = "quant_block";

    /// <summary>Quantization with a zero point per block (asymmetric) rather than symmetric: <c>--set quant_zero_points=1</c>.</summary>
    public const string QuantZeroPoints = "quant_zero_points";

    /// <summary>MatMulNBits' accuracy_level: its products' compute type (0 = fp32, 4 = int8): <c>--set accuracy_level=N</c>.</summary>
    public const string AccuracyLevel = "accuracy_level";

    /// <summary>Bits per weight of the quantized matrices, scales and zero points included.</summary>
    public const string QuantBitsPerWeight = "quant_bits_per_weight";

    /// <summary>Operations per request of a ceiling workload.</summary>
    public const string Repeats = "repeats";

    /// <summary>FLOPs of one gemm request (2 x m x n x k x repeats).</summary>
    public const string FlopsPerRequest = "flops_per_request";

    /// <summary>Buffer size of copy, in bytes.</summary>
    public const string BufferBytes = "buffer_bytes";

    /// <summary>What copy does: copy (read and write) or read.</summary>
    public const string Mode = "mode";

    /// <summary>Bytes moved by one copy request (read + write, or read only).</summary>
    public const string BytesPerRequest = "bytes_per_request";

    /// <summary>The operation in words (dst.copy_(src), Y = ReduceSum(X)...).</summary>
    public const string Operation = "operation";

    // Decoder LLMs (generate, serve): the model and its shapes.
    /// <summary>Name of the models/ config (gpt2-124m, llama-1b...).</summary>
    public const string ModelConfig = "model_config";

    /// <summary>Path of the models/ config file read.</summary>
    public const string ModelConfigPath = "model_config_path";

    /// <summary>Hash of the config's shape fields: a result still matches its models/ config when it is unchanged.</summary>
    public const string ModelShapeHash = "model_shape_hash";

    /// <summary>Architecture of the decoder (gpt2, llama, qwen2...).</summary>
    public const string Architecture = "architecture";

    /// <summary>Parameters of the model (count).</summary>
    public const string Parameters = "parameters";

    /// <summary>Parameters but the embedding tables (count).</summary>
    public const string NonEmbeddingParameters = "non_embedding_parameters";

    /// <summary>Seed of the generated weights.</summary>
    public const string WeightSeed = "weight_seed";

    /// <summary>How the weights were made, in words.</summary>
    public const string Weights = "weights";

    /// <summary>How the next token is chosen, in words.</summary>
    public const string Sampling = "sampling";

    // A model read from files (--model PATH: a Hugging Face folder or a GGUF file).
    /// <summary>The model on disk the run read (--model PATH): a Hugging Face folder or a GGUF file.</summary>
    public const string ModelSource = "model_source";

    /// <summary>The model's format: hf (a Hugging Face folder) or gguf.</summary>
    public const string ModelFormat = "model_format";

    /// <summary>SHA-256 of the folder's config.json.</summary>
    public const string ModelConfigSha256 = "model_config_sha256";

    /// <summary>SHA-256 of the folder's tokenizer.json; null when it has none.</summary>
    public const string ModelTokenizerSha256 = "model_tokenizer_sha256";

    /// <summary>The tokenizer a model on disk was run with: its kind and file (or why GPT-2's stood in).</summary>
    public const string ModelTokenizer = "model_tokenizer";

    /// <summary>A cheap fingerprint of the weight files: SHA-256 over their names, sizes and 16 sampled 64 KiB blocks.</summary>
    public const string ModelWeightsFingerprint = "model_weights_fingerprint";

    /// <summary>Bytes of the weight files.</summary>
    public const string ModelWeightsBytes = "model_weights_bytes";

    /// <summary>Element types of the weights in the files (f32, f16, bf16, q8_0, q4_0, q4_k, q6_k).</summary>
    public const string ModelWeightsDtypes = "model_weights_dtypes";

    /// <summary>Said when quantized tensors were dequantized to the run's dtype when loaded.</summary>
    public const string ModelDequantized = "model_dequantized";

    /// <summary>Seconds to load the model (weights read or generated, graph or modules built, session opened): its own phase.</summary>
    public const string LoadSeconds = "load_seconds";

    /// <summary>Peak resident set of the process after loading (VmHWM), in bytes.</summary>
    public const string LoadPeakRssBytes = "load_peak_rss_bytes";

    /// <summary>Prompt tokens per sequence (the mean of ok requests for an endpoint run).</summary>
    public const string PromptTokens = "prompt_tokens";

    /// <summary>New tokens generated per sequence (the mean asked of ok requests for an endpoint run).</summary>
    public const string NewTokens = "new_tokens";

    /// <summary>Bytes of the KV cache at batch x the longest context.</summary>
    public const string KvCacheBytes = "kv_cache_bytes";

    /// <summary>Estimated device memory the run needs, in bytes.</summary>
    public const string MemoryEstimateBytes = "memory_estimate_bytes";

    /// <summary>Device memory available when the run started, in bytes.</summary>
    public const string DeviceMemoryBytes = "device_memory_bytes";

    /// <summary>How attention is computed, in words.</summary>
    public const string Attention = "attention";

    /// <summary>Whether decode steps of the ONNX decoder run fixed or growing shapes, in words.</summary>
    public const string DecodeShapes = "decode_shapes";

    /// <summary>Whether decode steps run as a captured CUDA graph.</summary>
    public const string CudaGraph = "cuda_graph";

    /// <summary>
    /// ONNX Runtime's profiler (<c>--set ort_profile=PATH</c> on onnx:* decoders): whether it was on (it perturbs the
    /// timings) and where its raw profile and per-op summary are, in words; null when off.
    /// </summary>
    public const string OrtProfile = "ort_profile";

    /// <summary>How sequences share the decoder (static or continuous batching), in words.</summary>
    public const string StepDecoder = "step_decoder";

    /// <summary>Sequences the decoder holds at once at most (rows of its KV cache).</summary>
    public const string KvSlots = "kv_slots";

    /// <summary>Tokens one sequence holds at most (its context).</summary>
    public const string KvSlotTokens = "kv_slot_tokens";

    /// <summary>The most rows x tokens the decoder's KV cache held at once (it grows and shrinks in blocks).</summary>
    public const string PeakCacheTokens = "peak_cache_tokens";

    /// <summary>The LLM behind an endpoint (openai, the in-process decoder's name, latency-model).</summary>
    public const string LlmBackend = "llm_backend";

    // The latency model (agents --llm latency-model).
    /// <summary>Modeled time to first token alone, in milliseconds.</summary>
    public const string LlmTtftMs = "llm_ttft_ms";

    /// <summary>Modeled time per output token of one sequence, in milliseconds.</summary>
    public const string LlmTpotMs = "llm_tpot_ms";

    /// <summary>Modeled prefill time per prompt token joining a pass, in milliseconds.</summary>
    public const string LlmPrefillMsPerToken = "llm_prefill_ms_per_token";

    /// <summary>Modeled decode-step growth per extra sequence, in milliseconds.</summary>
    public const string LlmTpotMsPerSequence = "llm_tpot_ms_per_sequence";

    /// <summary>Where the model's figures came from (a preset or a result file).</summary>
    public const string LlmSource = "llm_source";

    /// <summary>The latency model's formula, in words.</summary>
    public const string LlmFormula = "llm_formula";

    // Request-level endpoints (generate -b openai:URL) and their datasets.
    /// <summary>The endpoint's base URL.</summary>
    public const string Endpoint = "endpoint";

    /// <summary>OpenAI API used: chat or completions.</summary>
    public const string Api = "api";

    /// <summary>Request field that caps the output (max_tokens or max_completion_tokens).</summary>
    public const string MaxTokensField = "max_tokens_field";

    /// <summary>Sampling temperature sent with each request.</summary>
    public const string Temperature = "temperature";

    /// <summary>Whether requests ask for the server's usage in the stream.</summary>
    public const string IncludeUsage = "include_usage";

    /// <summary>Whether an API key was sent (its value is never recorded).</summary>
    public const string ApiKey = "api_key";

    /// <summary>How the output length was held to what was asked, in words.</summary>
    public const string OutputLengthControl = "output_length_control";

    /// <summary>The Prometheus URL the server's own metrics were scraped from; null when none.</summary>
    public const string ServerMetricsUrl = "server_metrics_url";

    /// <summary>Mean requests in flight over the window (an endpoint run's batch is its rounding).</summary>
    public const string MeanRequestsInFlight = "mean_requests_in_flight";

    /// <summary>The dataset as given (synthetic, sharegpt:PATH, trace:PATH...).</summary>
    public const string Dataset = "dataset";

    /// <summary>Items of the dataset; null when endless (synthetic).</summary>
    public const string DatasetItems = "dataset_items";

    /// <summary>How prompt lengths were counted, in words.</summary>
    public const string PromptLengths = "prompt_lengths";

    /// <summary>Turns of a ShareGPT conversation used: first or all.</summary>
    public const string DatasetTurns = "dataset_turns";

    /// <summary>Tokens per hashed block of a Mooncake trace.</summary>
    public const string TraceBlockTokens = "trace_block_tokens";

    /// <summary>Blocks shared by more than one request of the trace (count).</summary>
    public const string TraceSharedBlocks = "trace_shared_blocks";

    /// <summary>Distinct sessions of the trace (count).</summary>
    public const string TraceSessions = "trace_sessions";

    /// <summary>Time from the trace's first arrival to its last, in seconds.</summary>
    public const string TraceSpanS = "trace_span_s";

    // Agents.
    /// <summary>The agent profile's name.</summary>
    public const string Profile = "profile";

    /// <summary>Path of the profile file; null for a built-in profile.</summary>
    public const string ProfilePath = "profile_path";

    /// <summary>Agents per LLM device the profile names.</summary>
    public const string ProfileAgents = "profile_agents";

    /// <summary>Where the profile's figures come from (papers, traces), as listed in the profile.</summary>
    public const string ProfileSources = "profile_sources";

    /// <summary>The profile's most sequences per LLM pass.</summary>
    public const string MaxBatch = "max_batch";

    /// <summary>Whether the profile assumes prefix caching.</summary>
    public const string PrefixCaching = "prefix_caching";

    /// <summary>The profile's longest context, in tokens.</summary>
    public const string MaxContextTokens = "max_context_tokens";

    /// <summary>Turns per job, as the profile draws them (a distribution in words).</summary>
    public const string Turns = "turns";

    /// <summary>Mean turns per job of the profile (jobs_per_hour divides by it).</summary>
    public const string MeanTurnsPerJob = "mean_turns_per_job";

    /// <summary>Tokens of a job's first prompt (a distribution in words).</summary>
    public const string InitialPromptTokens = "initial_prompt_tokens";

    /// <summary>Tokens decoded per LLM step (a distribution in words).</summary>
    public const string DecodeTokens = "decode_tokens";

    /// <summary>Tool calls per turn (a distribution in words).</summary>
    public const string ToolCallsPerTurn = "tool_calls_per_turn";

    /// <summary>Whether a turn's tool calls run in parallel.</summary>
    public const string ParallelToolCalls = "parallel_tool_calls";

    /// <summary>A tool call's timeout, in seconds.</summary>
    public const string ToolTimeoutS = "tool_timeout_s";

    /// <summary>What a failed tool call does: continue or end_job.</summary>
    public const string OnToolFailure = "on_tool_failure";

    /// <summary>The tools the profile draws, tool to weight.</summary>
    public const string ToolMix = "tool_mix";

    /// <summary>Commands the exec tool may run.</summary>
    public const string ExecAllowList = "exec_allow_list";

    /// <summary>How the exec tool isolates its commands; null when the profile does not use it.</summary>
    public const string ExecIsolation = "exec_isolation";

    /// <summary>Threads of the in-process LLM; null for the latency model or a remote server.</summary>
    public const string LlmThreads = "llm_threads";

    /// <summary>How a remote LLM is driven and its busy fraction counted, in words; null for a local one.</summary>
    public const string LlmRemote = "llm_remote";

    /// <summary>What agents do when their conversation outgrows the LLM's context.</summary>
    public const string ContextPolicy = "context_policy";

    /// <summary>The LLM's context known before the run, in tokens.</summary>
    public const string LlmContextTokens = "llm_context_tokens";

    /// <summary>Where <see cref="LlmContextTokens"/> came from.</summary>
    public const string LlmContextSource = "llm_context_source";

    /// <summary>Agents run at once.</summary>
    public const string Agents = "agents";

    /// <summary>Tool workers (threads that run tool calls).</summary>
    public const string ToolWorkers = "tool_workers";

    /// <summary>How the LLM batches steps: continuous or static.</summary>
    public const string LlmBatching = "llm_batching";

    /// <summary>Most sequences per LLM pass in effect.</summary>
    public const string LlmMaxBatch = "llm_max_batch";

    /// <summary>How long the LLM waits to fill a static batch, in milliseconds.</summary>
    public const string LlmBatchWindowMs = "llm_batch_window_ms";

    /// <summary>Most prompt tokens prefilled in one pass.</summary>
    public const string LlmMaxPrefillTokens = "llm_max_prefill_tokens";

    /// <summary>Whether agents start spread over the first turn instead of all at once.</summary>
    public const string StaggerStart = "stagger_start";
}
