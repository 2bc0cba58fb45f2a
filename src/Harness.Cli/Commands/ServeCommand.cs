using System.CommandLine;
using System.Globalization;
using Harness.Backends;
using Harness.Decoding;
using Harness.Models;
using Harness.Models.Formats;
using Harness.Serving;
using Harness.Tokenization;

namespace Harness.Cli.Commands;

/// <summary>
/// <c>harness serve</c>: a decoder of this harness (onnx:cpu|cuda, torch:cpu|cuda, or the latency
/// model) behind an OpenAI-compatible HTTP server with continuous batching and /metrics. Serves
/// until SIGTERM or Ctrl-C, then drains and exits 0.
/// </summary>
public static class ServeCommand
{
    /// <summary>The context a slot holds unless --max-model-len says otherwise: the model's, at most this.</summary>
    public const int DefaultMaxContext = 4096;

    public static Command Create(Lazy<BackendRegistry> registry, TextWriter output, TextWriter error, CancellationToken interrupt)
    {
        var backend = new Option<string>("--backend", "-b") { Description = $"Decoder: {RegistryHelp.DecoderNames}, or latency-model (time only, every token 0).", DefaultValueFactory = _ => "onnx:cpu" };
        var modelConfig = new Option<string>("--model-config") { Description = "Decoder shape: a name in models/ (gpt2-124m, llama-1b, qwen2.5-0.5b...) or a .json path; seeded weights.", DefaultValueFactory = _ => GenerateSettings.DefaultModel };
        var modelPath = new Option<string?>("--model")
        {
            Description = "A model on disk instead of a seeded shape: a Hugging Face folder (config.json, safetensors) or a GGUF file.",
        };
        var dtype = new Option<string?>("--dtype") { Description = "fp32, fp16 or bf16 (default: fp32 on CPU; fp16 for onnx:cuda, bf16 for torch:cuda); on onnx: int8 or int4 weights, fp8 on onnx:cuda." };
        var threads = new Option<int?>("--threads") { Description = "Intra-op threads of the decoder (default: the runtime's)." };
        var libTorch = new Option<string?>("--libtorch") { Description = "torch:cuda: the folder of libtorch's native libraries." };
        var set = new Option<string[]>("--set") { Description = "Decoder setting key=value (repeatable), as in run generate: weight_seed, spin (onnx:cuda also cuda_graph); others exit 2." };
        var host = new Option<string>("--host") { Description = "Address to listen on; loopback unless given (beyond loopback without --api-key-env prints a warning).", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port", "-p") { Description = "Port (0: a free one, printed).", DefaultValueFactory = _ => 8000 };
        var maxBatch = new Option<int>("--max-batch") { Description = "Sequences decoded at once (KV-cache slots).", DefaultValueFactory = _ => 8 };
        var maxQueue = new Option<int>("--max-queue") { Description = "Requests waiting for a slot at most; beyond: 429 with Retry-After.", DefaultValueFactory = _ => 32 };
        var maxModelLen = new Option<int?>("--max-model-len") { Description = $"Tokens a slot holds (prompt + completion); default the model's max positions, at most {DefaultMaxContext}." };
        var apiKeyEnv = new Option<string?>("--api-key-env") { Description = "Environment variable holding the API key that /v1 requests must bring (Authorization: Bearer KEY)." };
        var window = OptionParsers.Duration(
            "--batch-window",
            "How long a request may wait for others before it joins, unless the waiting ones fill the free slots "
                + "(0s: at the next iteration).",
            "0s");
        var shutdown = OptionParsers.Duration(
            "--shutdown-timeout", "On SIGTERM or Ctrl-C: how long streams in flight may finish before they are cancelled.", "30s");
        var command = new Command("serve", "Serve a decoder over an OpenAI-compatible HTTP API (/v1/completions, /v1/chat/completions, /v1/models) with continuous batching, /health and /metrics (vLLM's metric names).")
        {
            backend, modelConfig, modelPath, dtype, threads, libTorch, set, host, port, maxBatch, maxQueue, maxModelLen, window, apiKeyEnv,
            shutdown,
        };
        command.SetAction((parse, _) =>
        {
            int batch = parse.GetValue(maxBatch);
            int queue = parse.GetValue(maxQueue);
            int listenPort = parse.GetValue(port);
            if (batch < 1 || queue < 0 || listenPort is < 0 or > 65535)
            {
                throw HarnessException.BadInput("--max-batch must be at least 1, --max-queue at least 0, and --port from 0 to 65535.");
            }

            string? key = ApiKeys.Read(parse.GetValue(apiKeyEnv));

            var options = new ServeOptions
            {
                Host = parse.GetValue(host)!,
                Port = listenPort,
                MaxQueue = queue,
                ApiKey = key,
                ShutdownTimeout = parse.GetValue(shutdown),
            };
            string? onDisk = parse.GetValue(modelPath);
            if (onDisk is not null && parse.GetResult(modelConfig) is { Implicit: false })
            {
                throw HarnessException.BadInput("Give --model PATH (a model on disk) or --model-config NAME (a seeded shape), not both.");
            }

            WorkloadOptions decoder = DecoderOptions.Build(
                onDisk ?? parse.GetValue(modelConfig), parse.GetValue(dtype), parse.GetValue(threads), parse.GetValue(libTorch),
                DecoderOptions.Settings(OptionParsers.Settings(parse.GetValue(set))));
            DecoderConfig model = decoder.ModelConfig!;
            int context = parse.GetValue(maxModelLen) ?? Math.Min(model.MaxPositions, DefaultMaxContext);
            if (context < 2 || context > model.MaxPositions)
            {
                throw HarnessException.BadInput($"--max-model-len {context} must lie between 2 and {model.Name}'s max_positions ({model.MaxPositions}).");
            }

            var choice = new LlmChoice { Spec = LlmChoice.ParseBackend(parse.GetValue(backend)!), Options = decoder };
            var batching = new BatchingOptions { MaxBatch = batch, Window = parse.GetValue(window) };
            return Task.FromResult(Serve(registry.Value, choice, model, context, batching, options, output, error, interrupt));
        });
        return command;
    }

    private static int Serve(BackendRegistry registry, LlmChoice choice, DecoderConfig model, int context, BatchingOptions batching, ServeOptions options, TextWriter output, TextWriter error, CancellationToken interrupt)
    {
        if (!options.IsLoopback && options.ApiKey is null)
        {
            error.WriteLine($"harness serve: warning: listening on {options.Host} without an API key: anyone who can reach this port can use the decoder (set --api-key-env VAR).");
        }

        IStepDecoder decoder = choice.CreateDecoder(registry, batching.MaxBatch, context: context);
        using var endpoint = new InProcessLlmEndpoint(decoder, batching);
        // A model on disk brings its tokenizer where the harness runs it (byte-level BPE); else GPT-2's, mapped.
        (TextTokenizer? own, string tokenizerNote) = ModelTokenizer.For(model);
        ChatFormat chat = ChatFormat.ChatMl;
        if (model.WeightsPath is not null)
        {
            string fallback = own is null ? "GPT-2's BPE mapped into the model's vocabulary; " : $"{own.Kind}, ";
            error.WriteLine($"harness serve: tokenizer: {fallback}{tokenizerNote}");
            string? template = ModelTokenizer.ChatTemplateOf(model);
            if (ChatTemplate.Recognize(template) is { } known)
            {
                chat = known;
            }
            else
            {
                error.WriteLine("harness serve: warning: the model's chat template is none the harness renders (ChatML, Llama 2, "
                    + "Llama 3); chat messages are rendered as ChatML");
            }

            error.WriteLine($"harness serve: chat template: {chat}");
        }

        var served = new ServedModel(model.Name, context, new VocabularyMap(own ?? TextTokenizer.Gpt2, model.Vocab)) { Chat = chat };
        var server = new LlmServer(endpoint, served, options, error);
        try
        {
            server.StartAsync(interrupt).GetAwaiter().GetResult();
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"harness serve: {decoder.Name} as '{model.Name}' on {server.Address} (batch {endpoint.MaxBatch}, queue {options.MaxQueue}, context {context} tokens, {endpoint.Batching.ToString().ToLowerInvariant()} batching)"));
            output.Flush();
            interrupt.WaitHandle.WaitOne();
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"harness serve: stopping: {server.InFlight} requests in flight get up to {options.ShutdownTimeout.TotalSeconds:0.#} s"));
            output.Flush();
            server.ShutdownAsync().GetAwaiter().GetResult();
            output.WriteLine("harness serve: stopped");
            return ExitCodes.Ok;
        }
        catch (OperationCanceledException) when (interrupt.IsCancellationRequested)
        {
            return ExitCodes.Ok;
        }
        finally
        {
            server.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }
}
