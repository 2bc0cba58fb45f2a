using System.CommandLine;
using Harness.Backends;
using Harness.Datasets;
using Harness.Decoding;
using Harness.Engine;
using Harness.Engine.Scenarios;
using Harness.Models.Formats;
using Harness.Running;

namespace Harness.Cli.Commands;

/// <summary>
/// The options of one measurement, shared by <c>run</c> and by each side of <c>ab</c> (whose
/// <c>--a</c>/<c>--b</c> strings are parsed with exactly these), turned into a <see cref="RunRequest"/>.
/// </summary>
internal sealed class RunOptions
{
    public Argument<string> Workload { get; } = new("workload") { Description = "Workload to run: one of 'harness list' (resnet18, minilm, generate...), or agents (see 'harness run agents --help')." };

    public Option<string> Backend { get; } = new("--backend", "-b") { Description = "runtime:device[:id], e.g. onnx:cpu, onnx:cuda:0; or openai:URL for an OpenAI-compatible server, e.g. openai:http://127.0.0.1:8000/v1.", DefaultValueFactory = _ => "onnx:cpu" };

    public Option<string> Scenario { get; } = new("--scenario", "-s") { Description = $"Load pattern: {ScenarioParser.Help} (open loop: RATE arrivals/s, WORKERS executing, default {PoissonScenario.DefaultWorkers}).", DefaultValueFactory = _ => "single" };

    public Option<int> Batch { get; } = new("--batch") { Description = "Samples per request.", DefaultValueFactory = _ => 1 };

    public Option<int?> Threads { get; } = new("--threads") { Description = "Intra-op threads (default: the runtime's choice, all cores)." };

    public Option<int?> InterOp { get; } = new("--inter-op-threads") { Description = "Inter-op threads." };

    public Option<string> Optimization { get; } = new("--optimization") { Description = "ONNX graph optimization level: none, basic, extended, all.", DefaultValueFactory = _ => "all" };

    public Option<TimeSpan> Duration { get; } = OptionParsers.Duration(
        "--duration",
        "Minimum measured duration (30s, 2m...); measuring goes on past it until the tail rule holds (see --min-requests).",
        "30s",
        "-d");

    public Option<TimeSpan> MaxDuration { get; } = OptionParsers.Duration(
        "--max-duration", "Stop measuring after this long even if --min-requests or the tail rule is not met.", "10m");

    public Option<TimeSpan> Warmup { get; } =
        OptionParsers.Duration("--warmup", "Warm-up duration, excluded from results (0s for none).", "5s");

    public Option<int?> WarmupRequests { get; } = new("--warmup-requests") { Description = "Warm up by request count instead of duration." };

    public Option<long> MinRequests { get; } = new("--min-requests")
    {
        Description = "Minimum measured requests. Left out: 100, and measuring goes on until the tail rule holds (the samples "
            + "that the --tail percentile and every SLO's percentile need, MLPerf's early-stopping bound); given: this count alone.",
        DefaultValueFactory = _ => 100,
    };

    public Option<TimeSpan?> Timeout { get; } = OptionParsers.OptionalDuration(
        "--timeout", "A request slower than this counts as a timeout (and as a miss for the tail rule).");

    public Option<double> MaxErrorRate { get; } = new("--max-error-rate") { Description = "Largest share of failed requests in a valid result (0 to 1).", DefaultValueFactory = _ => 0 };

    public Option<string?> Tail { get; } = new("--tail")
    {
        Description = "Tail percentile whose sample count decides validity (default: the latency SLO's, else p90 single, p99 "
            + "concurrency and poisson, none offline). Given, it is the only percentile the tail rule waits for (else also every SLO's).",
    };

    public Option<string[]> Slo { get; } = new("--slo") { Description = $"Service-level objective(s): {ServiceLevelObjective.Help}. Adds the 'slo' validity condition and goodput." };

    public Option<int> Seed { get; } = new("--seed") { Description = "Seed for synthesized inputs and open-loop arrival schedules.", DefaultValueFactory = _ => 42 };

    public Option<string?> Model { get; } = new("--model", "-m")
    {
        Description = "onnx-file: the ONNX model file. generate: a model on disk instead of a seeded shape, a Hugging Face folder "
            + "(config.json, safetensors) or a GGUF file; its shape and weights.",
    };

    public Option<string[]> Shape { get; } = new("--shape") { Description = "Dimensions of an input, name=1x3x224x224 (repeatable).", AllowMultipleArgumentsPerToken = false };

    public Option<string?> ModelConfig { get; } = new("--model-config") { Description = "Decoder shape for generate: a name in models/ (gpt2-124m, llama-1b, qwen2.5-0.5b, llama-8b, llama-70b) or a .json path." };

    public Option<int?> PromptTokens { get; } = new("--prompt-tokens") { Description = "generate: prompt tokens per sequence (default 128)." };

    public Option<int?> NewTokens { get; } = new("--new-tokens") { Description = "generate: tokens to generate per sequence (default 128)." };

    public Option<string?> DType { get; } = new("--dtype") { Description = "generate, gemm, copy: fp32, fp16 or bf16 (default: fp32 on CPU; fp16 for onnx:cuda, bf16 for torch:cuda); generate on onnx: int8 or int4 weights, fp8 on onnx:cuda." };

    public Option<string?> LibTorch { get; } = new("--libtorch") { Description = "torch backend: folder of a libtorch to load (e.g. a PyTorch install's torch/lib); default: $TORCH_LIB_DIR, else the packaged CPU libtorch." };

    public Option<string[]> Set { get; } = new("--set") { Description = "Workload-specific setting key=value (repeatable): each workload's keys, types and defaults are in 'harness list'; an unknown key or a bad value exits 2 and lists them." };

    public Option<string?> Dataset { get; } = new("--dataset") { Description = $"generate on openai:URL: where requests come from: {Datasets.PromptDataset.Help} (default synthetic with --prompt-tokens and --new-tokens)." };

    public Option<string?> Tokenizer { get; } = new("--tokenizer") { Description = "generate on openai:URL: a Hugging Face tokenizer.json (byte-level BPE) for exact prompt lengths and the client's own token counts." };

    public Option<double> Speedup { get; } = new("--speedup") { Description = "--scenario trace: replay the trace this many times faster than recorded.", DefaultValueFactory = _ => 1 };

    public Option<string?> ServerMetrics { get; } = new("--server-metrics") { Description = "generate on openai:URL: the server's Prometheus endpoint to scrape every second in the window (default: the server's /metrics; 'off' for none)." };

    public Option<string?> ApiKeyEnv { get; } = new("--api-key-env") { Description = "generate on openai:URL: the environment variable holding the API key (default OPENAI_API_KEY); the key is never written anywhere." };

    /// <summary>--results-dir, telemetry, --metrics, --pushgateway and the price: as for every run.</summary>
    public OutputOptions Output { get; } = new();

    public void AddTo(Command command)
    {
        command.Add(Workload);
        foreach (Option o in new Option[]
        {
            Backend, Scenario, Batch, Threads, InterOp, Optimization, Duration, MaxDuration, Warmup, WarmupRequests,
            MinRequests, Timeout, MaxErrorRate, Tail, Slo, Seed, Model, Shape, ModelConfig, PromptTokens, NewTokens, DType, LibTorch, Set,
            Dataset, Tokenizer, Speedup, ServerMetrics, ApiKeyEnv,
        })
        {
            command.Add(o);
        }

        Output.AddTo(command);
    }

    /// <summary>Validates the parsed values and builds the request; every mistake is one sentence (exit 2).</summary>
    public RunRequest Build(ParseResult parse, string? outputPath)
    {
        int? warmN = parse.GetValue(WarmupRequests);
        int threadCount = parse.GetValue(Threads) ?? 1;
        if (threadCount < 1 || parse.GetValue(InterOp) is < 1)
        {
            throw HarnessException.BadInput("--threads and --inter-op-threads must be at least 1.");
        }

        if (parse.GetValue(Batch) < 1)
        {
            throw HarnessException.BadInput("--batch must be at least 1.");
        }

        double errorRate = parse.GetValue(MaxErrorRate);
        if (errorRate is < 0 or > 1)
        {
            throw HarnessException.BadInput("--max-error-rate must lie between 0 and 1.");
        }

        if (warmN is < 0)
        {
            throw HarnessException.BadInput("--warmup-requests must not be negative.");
        }

        // The tail rule by default; an explicit --min-requests is the count the user chose instead.
        var stop = new StopRules(
            parse.GetValue(Duration),
            parse.GetValue(MinRequests),
            parse.GetValue(MaxDuration),
            UntilTail: parse.GetResult(MinRequests) is not { Implicit: false });
        if (stop.MaxDuration < stop.MinDuration)
        {
            throw HarnessException.BadInput("--max-duration must not be shorter than --duration.");
        }

        int seed = parse.GetValue(Seed);
        int? promptTokens = AtLeastOne(parse.GetValue(PromptTokens), "--prompt-tokens");
        int? newTokens = AtLeastOne(parse.GetValue(NewTokens), "--new-tokens");
        // Parsed once, here: a trace's file is read once, for the scenario's schedule and the dataset's prompts.
        DatasetSpec? dataset = parse.GetValue(Dataset) is { } text ? DatasetSpec.Parse(text, promptTokens, newTokens) : null;
        (IScenario scenario, TraceScenario? trace) = BuildScenario(parse, dataset);
        bool warmupGiven = parse.GetResult(Warmup) is { Implicit: false } || warmN is not null;
        if (trace is not null)
        {
            // A replayed trace runs whole once: no warm-up (it would replay the trace's start, and its
            // prefixes, before the measured replay) unless asked, and its entries are the requests.
            if (!warmupGiven)
            {
                warmN = 0;
            }

            if (parse.GetResult(Duration) is not { Implicit: false } && parse.GetResult(MinRequests) is not { Implicit: false })
            {
                double span = trace.FixedArrivals().Max(a => a.DueS);
                stop = new StopRules(TimeSpan.Zero, trace.Count, stop.MaxDuration > TimeSpan.FromSeconds(span * 2 + 60) ? stop.MaxDuration : TimeSpan.FromSeconds(span * 2 + 60));
            }
        }

        var settings = new RunSettings
        {
            Scenario = scenario,
            Batch = parse.GetValue(Batch),
            Warmup = warmN is { } n ? WarmupRule.ForRequests(n) : WarmupRule.ForDuration(parse.GetValue(Warmup)),
            Stop = stop,
            RequestTimeout = parse.GetValue(Timeout),
            MaxErrorRate = errorRate,
            Seed = seed,
            TailPercentile = parse.GetValue(Tail) is { } p ? OptionParsers.Percentile(p) : null,
            Slos = (parse.GetValue(Slo) ?? []).SelectMany(ServiceLevelObjective.ParseList).ToList(),
        };
        WorkloadOptions decoder = DecoderOptions.Build(
            parse.GetValue(ModelConfig), parse.GetValue(DType), parse.GetValue(Threads), parse.GetValue(LibTorch),
            DecoderOptions.Settings(OptionParsers.Settings(parse.GetValue(Set))));
        string? modelPath = parse.GetValue(Model);
        if (modelPath is not null && parse.GetValue(Workload) == GenerateWorkload.Name)
        {
            // generate --model PATH: the model's own shape and weights (a Hugging Face folder or a GGUF file).
            decoder = decoder.ModelConfig is null
                ? decoder with { ModelConfig = ModelFiles.Load(modelPath) }
                : throw HarnessException.BadInput("Give --model PATH (a model on disk) or --model-config NAME (a seeded shape), not both.");
            modelPath = null;
        }

        var options = decoder with
        {
            ModelPath = modelPath,
            Shapes = (parse.GetValue(Shape) ?? []).Select(OptionParsers.Shape).ToDictionary(kv => kv.Key, kv => kv.Value),
            InterOpThreads = parse.GetValue(InterOp),
            Optimization = GraphOptimizations.Parse(parse.GetValue(Optimization)!),
            PromptTokens = promptTokens,
            NewTokens = newTokens,
            Inputs = dataset is null ? [] : [dataset],
            TokenizerPath = parse.GetValue(Tokenizer),
            ServerMetrics = parse.GetValue(ServerMetrics),
            ApiKeyVariable = parse.GetValue(ApiKeyEnv),
        };
        RunOutput output = Output.Build(parse, outputPath);
        return new RunRequest(
            parse.GetValue(Workload)!,
            BackendSpec.Parse(parse.GetValue(Backend)!),
            options,
            settings,
            output.OutputPath,
            output.ResultsRoot,
            output.ExtraConfig,
            output.Telemetry,
            output.Metrics,
            output.Price,
            output.Disturbance) { ServerPid = output.ServerPid };
    }

    /// <summary>
    /// The scenario: the trace's own schedule for <c>--scenario trace</c>, or when a trace dataset is
    /// given without a scenario; any other scenario by its text (a trace's requests then come in order,
    /// each on its own).
    /// </summary>
    private (IScenario Scenario, TraceScenario? Trace) BuildScenario(ParseResult parse, DatasetSpec? dataset)
    {
        string text = parse.GetValue(Scenario)!;
        bool traceData = dataset is TraceSpec;
        bool scenarioGiven = parse.GetResult(Scenario) is { Implicit: false };
        double speedup = parse.GetValue(Speedup);
        if (parse.GetResult(Speedup) is { Implicit: false } && !(ScenarioParser.IsTrace(text) || (traceData && !scenarioGiven)))
        {
            throw HarnessException.BadInput("--speedup replays a trace faster or slower: use it with --dataset trace:FILE.jsonl (scenario trace).");
        }

        if (ScenarioParser.IsTrace(text) || (traceData && !scenarioGiven))
        {
            if (!traceData)
            {
                throw HarnessException.BadInput($"Scenario '{text}' replays the schedule of a trace: give --dataset trace:FILE.jsonl with it.");
            }

            TraceScenario trace = ScenarioParser.ParseTrace(scenarioGiven ? text : "trace", ((TraceSpec)dataset!).Trace.Arrivals, speedup);
            return (trace, trace);
        }

        return (ScenarioParser.Parse(text, parse.GetValue(Seed)), null);
    }

    private static int? AtLeastOne(int? value, string option) =>
        value is < 1 ? throw HarnessException.BadInput($"{option} must be at least 1.") : value;

    /// <summary>
    /// Parses a quoted run-argument string (the sides of <c>ab</c>) with these options alone;
    /// a leading "run" is allowed. Parse errors name the side.
    /// </summary>
    public static RunRequest ParseArguments(string text, string side)
    {
        var options = new RunOptions();
        var command = new Command("run");
        options.AddTo(command);
        var args = System.CommandLine.Parsing.CommandLineParser.SplitCommandLine(text).ToList();
        if (args.Count > 0 && args[0] == "run")
        {
            args.RemoveAt(0);
        }

        ParseResult parse = command.Parse(args);
        if (parse.Errors.Count > 0)
        {
            throw HarnessException.BadInput($"{side} \"{text}\": {parse.Errors[0].Message}");
        }

        return options.Build(parse, null);
    }
}
