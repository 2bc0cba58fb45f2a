using Harness.Agents.Llm;
using Harness.Backends;
using Harness.Models;
using Microsoft.ML.OnnxRuntime;

namespace Harness.Onnx.Decoder;

/// <summary>
/// The generated ONNX decoder as the agents' LLM device (<c>--llm onnx:cpu</c> or <c>onnx:cuda</c>,
/// settings from <c>--llm-set</c>: model_config, dtype, weight_seed, threads, spin). Each step runs a
/// real batched prefill and real decode steps, driven by <see cref="BatchDecoderExecutor"/>.
/// </summary>
public sealed class OnnxLlmBackendProvider : ILlmBackendProvider
{
    public IReadOnlyList<string> Backends { get; } = ["onnx:cpu", "onnx:cuda"];

    public ILlmStepExecutor Create(LlmOptions options) =>
        new BatchDecoderExecutor(new OnnxBatchDecoderFactory(BackendSpec.Parse(options.Backend), options.Settings));
}

/// <summary>One ONNX Runtime session of a generated decoder; makes runners of the shapes the agents' batches need.</summary>
public sealed class OnnxBatchDecoderFactory : IBatchDecoderFactory
{
    /// <summary>Seed of the prompt tokens (token values do not change a dense decoder's speed).</summary>
    private const int PromptSeed = 42;

    private readonly BackendSpec _backend;
    private readonly GenerateSettings _settings;
    private readonly InferenceSession _session;
    private readonly DeviceMemory _device;

    public OnnxBatchDecoderFactory(BackendSpec backend, IReadOnlyDictionary<string, string> settings)
    {
        _backend = backend;
        // The shapes come from the agents' steps; prompt_tokens and new_tokens of 'generate' do not apply.
        var extra = new Dictionary<string, string>(settings)
        {
            [GenerateSettings.PromptKey] = "1",
            [GenerateSettings.NewKey] = "1",
        };
        int? threads = settings.TryGetValue("threads", out string? t)
            ? (int.TryParse(t, out int n) && n >= 1 ? n : throw HarnessException.BadInput($"--llm-set threads '{t}' must be an integer of at least 1."))
            : null;
        var options = new WorkloadOptions { Extra = extra, Threads = threads };
        _settings = GenerateSettings.From(options, backend.Device == "cuda" ? TensorDType.Float16 : TensorDType.Float32);
        _device = DeviceMemory.For(backend.Device, backend.DeviceId);
        string path = DecoderModelCache.GetOrCreate(_settings.Model, _settings.DType, _settings.WeightSeed, Console.Error);
        _session = OnnxSessionFactory.Create(path, backend, options);

        Dictionary<string, object?> details = _settings.Details(MaxBatch);
        foreach (string perShape in (string[])["batch", "prompt_tokens", "new_tokens", "kv_cache_bytes"])
        {
            details.Remove(perShape);
        }

        details["model_path"] = path;
        details["execution_provider"] = backend.Device == "cuda" ? "CUDAExecutionProvider" : "CPUExecutionProvider";
        details["llm_threads"] = threads;
        details["llm_long_steps"] = $"prompts are cut to {_settings.Model.MaxPositions - 1} tokens; a step that decodes past the cache keeps decoding at its last position";
        Details = details;
    }

    public string Name => $"{_backend} {_settings.Model.Name} {_settings.DType.ShortName()}";

    public int MaxBatch => 64;

    public int MaxPositions => _settings.Model.MaxPositions;

    public IReadOnlyDictionary<string, object?> Details { get; }

    public IBatchDecoder Create(int batch, int promptTokens, int maxContext)
    {
        GenerateSettings s = _settings;
        MemoryFit.Check(s.Model, batch, promptTokens, maxContext, s.DType, _device.AvailableBytes, _device.Name);
        var rng = new Random(PromptSeed);
        var prompt = new long[(long)batch * promptTokens];
        for (int i = 0; i < prompt.Length; i++)
        {
            prompt[i] = rng.Next(s.Model.Vocab);
        }

        return new OnnxBatchDecoder(new OnnxDecoderRunner(_session, s.Model, s.DType, _backend, batch, promptTokens, maxContext, captureLogits: false), prompt);
    }

    public void Dispose() => _session.Dispose();
}

/// <summary>An <see cref="OnnxDecoderRunner"/> of one shape with its fixed prompt.</summary>
internal sealed class OnnxBatchDecoder(OnnxDecoderRunner runner, long[] prompt) : IBatchDecoder
{
    public int Batch => runner.Batch;

    public int PromptTokens => runner.PromptTokens;

    public int MaxContext => runner.MaxContext;

    public void Prefill()
    {
        try
        {
            runner.Prefill(prompt);
        }
        catch (OnnxRuntimeException e)
        {
            throw Failed(e);
        }
    }

    public void Step()
    {
        if (runner.Position >= runner.MaxContext)
        {
            runner.Rewind(runner.MaxContext - 1);
        }

        try
        {
            runner.Step();
        }
        catch (OnnxRuntimeException e)
        {
            throw Failed(e);
        }
    }

    public void Dispose() => runner.Dispose();

    private static HarnessException Failed(OnnxRuntimeException e) =>
        HarnessException.BadInput($"ONNX Runtime could not run the agents' decoder step: {OnnxSessionFactory.FirstLine(e.Message)}", e);
}
