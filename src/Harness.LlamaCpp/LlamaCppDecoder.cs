using Harness.Backends;
using Harness.Decoding;
using Harness.Decoding.Sampling;
using Harness.Metrics;
using Harness.Models;
using LLama.Exceptions;
using LLama.Native;

namespace Harness.LlamaCpp;

/// <summary>
/// llama.cpp's decoder (<see cref="BatchDecoder"/>: generate, the agents and serving all run it) over
/// LLamaSharp's native API: one llama.cpp context whose sequence ids are the harness's cache rows.
/// <list type="bullet">
/// <item>Each cache row holds a llama.cpp sequence id. A pass is one <c>llama_decode</c> of one batch:
/// the joiners' prompts (ragged, each at positions 0..n-1 of its own sequence, logits only at its last
/// token) or one token per live row at that row's position.</item>
/// <item>A row that leaves from below gets the last row's sequence: <see cref="MoveRow"/> swaps the ids
/// and removes the leaving sequence's cells (<c>llama_memory_seq_rm</c>); nothing is copied. A sequence
/// that leaves from the last row has its cells removed at the next pass.</item>
/// <item>llama.cpp allocates its KV cache once, when the context is made: <see cref="BatchDecoder.Slots"/>
/// streams of <see cref="BatchDecoder.Context"/> cells (not unified: the sequences share no prefix), so
/// the cache does not grow in blocks (<see cref="GrowsCache"/> false), in the run's dtype (f32 for an f32
/// file, f16 otherwise).</item>
/// <item>Tokens are picked on the host from llama.cpp's logits (host memory on the CPU): the argmax
/// when every row is plain greedy, else the harness's own <see cref="LogitSampler"/>, so sampling
/// behaves as on every other backend.</item>
/// </list>
/// </summary>
public sealed class LlamaCppDecoder : BatchDecoder
{
    private readonly SafeLlamaModelHandle _model;
    private readonly SafeLLamaContextHandle _context;
    private readonly LLamaBatch _batch = new();
    private readonly int[] _sequenceOfRow;
    private readonly int[] _cells;
    private readonly int[] _outputAt;
    private readonly int _vocab;
    private LogitSampler? _sampler;

    /// <summary>Checks the memory, then loads llama.cpp, the GGUF file, and a context for the slots and context.</summary>
    internal LlamaCppDecoder(BackendSpec backend, WorkloadOptions options, DecoderSpec spec, GgufWeights weights)
        : base(spec)
    {
        CheckMemory(DeviceMemory.For(backend.Device, backend.DeviceId));
        if (RuntimeSettings.Spin.IsSet(options.Extra) && !LlamaRuntime.SetWaitPolicy(RuntimeSettings.Spin.Get(options.Extra))
            && LlamaRuntime.WaitPolicy != (RuntimeSettings.Spin.Get(options.Extra) ? "ACTIVE" : "PASSIVE"))
        {
            throw HarnessException.BadInput($"--set spin={(RuntimeSettings.Spin.Get(options.Extra) ? 1 : 0)} comes too late: llama.cpp "
                + $"was loaded in this process with OMP_WAIT_POLICY={LlamaRuntime.WaitPolicy ?? "unset"}, which OpenMP keeps.");
        }

        LlamaRuntime.Ensure();
        Name = $"{backend} {spec.Model.Name} {spec.DType.ShortName()}";
        _sequenceOfRow = Enumerable.Range(0, spec.Slots).ToArray();
        _cells = new int[spec.Slots];
        _outputAt = new int[spec.Slots];

        LlamaRuntime.ForgetLog();
        LLamaModelParams modelParams = LLamaModelParams.Default();
        modelParams.n_gpu_layers = 0;
        try
        {
            _model = SafeLlamaModelHandle.LoadFromFile(weights.Path, modelParams);
        }
        catch (LoadWeightsFailedException e)
        {
            throw HarnessException.BadInput($"llama.cpp could not load '{weights.Path}'{LlamaRuntime.RecentLog()}", e);
        }

        _vocab = _model.Vocab.Count;
        int threads = options.Threads ?? Environment.ProcessorCount;
        GGMLType kv = spec.DType == TensorDType.Float32 ? GGMLType.GGML_TYPE_F32 : GGMLType.GGML_TYPE_F16;
        LLamaContextParams contextParams = LLamaContextParams.Default();
        contextParams.n_ctx = (uint)(spec.Slots * Context);
        contextParams.n_batch = contextParams.n_ctx;
        contextParams.n_ubatch = Math.Min(contextParams.n_ctx, 512);
        contextParams.n_seq_max = (uint)spec.Slots;
        contextParams.n_threads = threads;
        contextParams.n_threads_batch = threads;
        contextParams.kv_unified = false;
        contextParams.type_k = kv;
        contextParams.type_v = kv;
        // llama.cpp's flash attention casts an f32 cache to f16 on the way in (logits 1.6e-4 off the fp32
        // reference on tiny-llama-test, against ~1e-6 without): an fp32 run attends in fp32.
        contextParams.llama_flash_attn_type = kv == GGMLType.GGML_TYPE_F32
            ? LLamaFlashAttentionType.LLAMA_FLASH_ATTENTION_TYPE_DISABLED
            : LLamaFlashAttentionType.LLAMA_FLASH_ATTENTION_TYPE_AUTO;
        contextParams.no_perf = true;
        try
        {
            _context = SafeLLamaContextHandle.Create(_model, contextParams);
        }
        catch (RuntimeError e)
        {
            _model.Dispose();
            throw HarnessException.BadInput($"llama.cpp could not make a context of {spec.Slots} x {Context} tokens for '{weights.Path}'"
                + LlamaRuntime.RecentLog(), e);
        }

        if (_vocab != spec.Model.Vocab)
        {
            Dispose();
            throw HarnessException.BadInput($"llama.cpp reads a vocabulary of {_vocab} tokens from '{weights.Path}', but its embedding has "
                + $"{spec.Model.Vocab} rows.");
        }

        Dictionary<string, object?> details = DescribeBatching(Describe(weights, threads, kv));
        // llama.cpp runs quantized tensors as they are: nothing is dequantized.
        details.Remove(ConfigKeys.ModelDequantized);
        Details = details;
    }

    public override string Name { get; }

    public override IReadOnlyDictionary<string, object?> Details { get; }

    /// <summary>When set (tests), each row's logits of every pass are appended here, in pass order.</summary>
    internal List<float[]>? CapturedLogits { get; set; }

    /// <summary>llama.cpp allocates its KV cache once, for every slot's context.</summary>
    protected override bool GrowsCache => false;

    public override void Dispose()
    {
        _context?.Dispose();
        _model?.Dispose();
    }

    /// <summary>The cache is llama.cpp's, made with the context: nothing to resize.</summary>
    protected override void Resize(int rows, int tokens, ReadOnlySpan<int> lengths)
    {
    }

    /// <summary>
    /// The sequence in <paramref name="to"/> left: its cells are removed, and row <paramref name="to"/>
    /// takes the sequence id of row <paramref name="from"/> with its cells where they are.
    /// </summary>
    protected override void MoveRow(int from, int to, int tokens)
    {
        int leaving = _sequenceOfRow[to];
        Forget(leaving);
        _sequenceOfRow[to] = _sequenceOfRow[from];
        _sequenceOfRow[from] = leaving;
    }

    protected override void Prefill(StepRows rows)
    {
        _batch.Clear();
        for (int i = 0; i < rows.Count; i++)
        {
            int sequence = _sequenceOfRow[rows.FirstRow + i];
            Forget(sequence);
            ReadOnlySpan<long> prompt = rows.Prompt(i);
            for (int p = 0; p < prompt.Length; p++)
            {
                int at = _batch.Add((int)prompt[p], p, (LLamaSeqId)sequence, p == prompt.Length - 1);
                if (p == prompt.Length - 1)
                {
                    _outputAt[i] = at;
                }
            }

            _cells[sequence] = prompt.Length;
        }

        Run(rows);
    }

    protected override void Decode(StepRows rows)
    {
        // Rows past the live ones hold sequences that left from the top: their cells go now.
        for (int row = rows.Count; row < Slots; row++)
        {
            Forget(_sequenceOfRow[row]);
        }

        _batch.Clear();
        for (int r = 0; r < rows.Count; r++)
        {
            int sequence = _sequenceOfRow[r], position = rows.Positions[r];
            if (_cells[sequence] > position)
            {
                // A full row decodes at its last position again: llama.cpp takes a position only once per sequence.
                _context.MemorySequenceRemove((LLamaSeqId)sequence, position, -1);
            }

            _outputAt[r] = _batch.Add((int)rows.Tokens[r], position, (LLamaSeqId)sequence, true);
            _cells[sequence] = position + 1;
        }

        Run(rows);
    }

    private void Run(StepRows rows)
    {
        DecodeResult result = _context.Decode(_batch);
        if (result != DecodeResult.Ok)
        {
            throw new InvalidOperationException($"llama_decode of {_batch.TokenCount} tokens returned {result}{LlamaRuntime.RecentLog()}");
        }

        bool greedy = rows.AllPlainGreedy;
        for (int i = 0; i < rows.Count; i++)
        {
            ReadOnlySpan<float> logits = _context.GetLogitsIth(_outputAt[i]);
            CapturedLogits?.Add(logits.ToArray());
            if (greedy)
            {
                rows.Next[i] = ReferenceDecoder.ArgMax(logits);
            }
            else
            {
                (rows.Next[i], rows.Logprobs[i]) = (_sampler ??= new LogitSampler(_vocab)).Sample(logits, rows.Sequence(i));
            }
        }
    }

    /// <summary>Removes every cell of <paramref name="sequence"/> from llama.cpp's cache (none to remove is a no-op).</summary>
    private void Forget(int sequence)
    {
        if (_cells[sequence] > 0)
        {
            _context.MemorySequenceRemove((LLamaSeqId)sequence, -1, -1);
            _cells[sequence] = 0;
        }
    }

    private static Dictionary<string, object?> Describe(GgufWeights weights, int threads, GGMLType kv)
    {
        var details = new Dictionary<string, object?>
        {
            [ConfigKeys.LlamaCppVersion] = LlamaRuntime.Version(),
            [ConfigKeys.LlamaCppBuild] = $"LLamaSharp {LlamaRuntime.PackageVersion}'s bundled CPU build (LLamaSharp.Backend.Cpu "
                + $"{LlamaRuntime.BackendPackageVersion}), variant {LlamaRuntime.Variant ?? "unknown"}",
            [ConfigKeys.LlamaCppLibrary] = LlamaRuntime.LibraryPath,
            [ConfigKeys.LlamaCppSystemInfo] = LlamaRuntime.SystemInfo(),
            [ConfigKeys.LlamaCppThreads] = threads,
            // llama.cpp's OpenMP threads spin at barriers and between passes unless this says PASSIVE (read at load time).
            [ConfigKeys.OmpWaitPolicy] = LlamaRuntime.WaitPolicy,
            [ConfigKeys.LlamaCppTensorTypes] = weights.Types,
            [ConfigKeys.LlamaCppKvType] = kv == GGMLType.GGML_TYPE_F32 ? "f32" : "f16",
            [ConfigKeys.Attention] = (kv == GGMLType.GGML_TYPE_F32
                    ? "llama.cpp's, flash attention off (it would cast the f32 cache to f16)"
                    : "llama.cpp's, flash attention as llama.cpp decides (auto)")
                + " over one KV stream per sequence id, "
                + "n_ctx = slots x context cells allocated with the context; a leaving row's cells removed by llama_memory_seq_rm, "
                + "rows moved by swapping sequence ids (no copy)",
        };
        return details;
    }
}
