using Harness.Backends;
using Harness.Models;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Harness.Onnx.Decoder;

/// <summary>
/// Runs a generated decoder graph for one batch: batched prefill, then one greedy decode step at a
/// time. Everything is allocated and bound once (two IOBindings, prefill and decode): the KV cache
/// of every layer is one preallocated buffer bound as both past and present (GroupQueryAttention
/// updates it in place), inputs are pinned host arrays whose contents change between runs, and the
/// next tokens land in a pinned host array. A step allocates nothing on the managed side; on CUDA
/// the only per-step transfers are the few input integers and the B output tokens.
/// </summary>
public sealed class OnnxDecoderRunner : IDisposable
{
    private readonly List<IDisposable> _owned = [];
    private readonly InferenceSession _session;
    private readonly DecoderConfig _config;
    private readonly bool _cuda;
    private readonly long[] _prefillIds;
    private readonly long[] _prefillPositions;
    private readonly long[] _decodeIds;
    private readonly long[] _decodePositions;
    private readonly int[] _seqLens;
    private readonly int[] _total = new int[1];
    private readonly long[] _nextTokens;
    private readonly float[]? _logits;
    private readonly OrtIoBinding _prefill;
    private readonly OrtIoBinding _decode;
    private readonly RunOptions _runOptions;
    private int _position;

    public OnnxDecoderRunner(InferenceSession session, DecoderConfig config, TensorDType dtype, BackendSpec backend, int batch, int promptTokens, int maxContext, bool captureLogits)
    {
        _session = session;
        _config = config;
        _cuda = backend.Device == "cuda";
        Batch = batch;
        PromptTokens = promptTokens;
        MaxContext = maxContext;
        bool gpt2 = config.Architecture == DecoderArchitecture.Gpt2;

        _prefillIds = new long[batch * promptTokens];
        _prefillPositions = new long[batch * promptTokens];
        for (int b = 0; b < batch; b++)
        {
            for (int s = 0; s < promptTokens; s++)
            {
                _prefillPositions[b * promptTokens + s] = s;
            }
        }

        _decodeIds = new long[batch];
        _decodePositions = new long[batch];
        _seqLens = new int[batch];
        _nextTokens = new long[batch];
        _runOptions = Own(new RunOptions());

        OrtValue Pin<T>(T[] array, params long[] shape)
            where T : unmanaged => Own(OrtValue.CreateTensorValueFromMemory(array, shape));

        OrtValue prefillIds = Pin(_prefillIds, batch, promptTokens);
        OrtValue prefillPos = Pin(_prefillPositions, batch, promptTokens);
        OrtValue decodeIds = Pin(_decodeIds, batch, 1);
        OrtValue decodePos = Pin(_decodePositions, batch, 1);
        OrtValue seqLens = Pin(_seqLens, batch);
        OrtValue total = Pin(_total, 1);
        OrtValue next = Pin(_nextTokens, batch);

        OrtMemoryInfo? deviceMemory = _cuda ? Own(new OrtMemoryInfo(OrtMemoryInfo.allocatorCUDA, OrtAllocatorType.DeviceAllocator, backend.DeviceId, OrtMemType.Default)) : null;
        OrtAllocator allocator = deviceMemory is null ? OrtAllocator.DefaultInstance : Own(new OrtAllocator(session, deviceMemory));
        OrtValue? logits = null;
        if (captureLogits)
        {
            _logits = new float[(long)batch * config.Vocab];
            logits = Pin(_logits, batch, config.Vocab);
        }

        TensorElementType kvType = dtype switch
        {
            TensorDType.Float32 => TensorElementType.Float,
            TensorDType.Float16 => TensorElementType.Float16,
            _ => TensorElementType.BFloat16,
        };
        long[] kvShape = [batch, config.KvHeads, maxContext, config.HeadDim];
        var caches = new List<(int Layer, OrtValue Key, OrtValue Value)>();
        for (int i = 0; i < config.Layers; i++)
        {
            OrtValue k = Own(OrtValue.CreateAllocatedTensorValue(allocator, kvType, kvShape));
            OrtValue v = Own(OrtValue.CreateAllocatedTensorValue(allocator, kvType, kvShape));
            if (!_cuda)
            {
                k.GetTensorMutableRawData().Clear();
                v.GetTensorMutableRawData().Clear();
            }

            caches.Add((i, k, v));
        }

        OrtIoBinding Bind(OrtValue ids, OrtValue pos)
        {
            OrtIoBinding io = Own(session.CreateIoBinding());
            io.BindInput(DecoderIo.InputIds, ids);
            if (gpt2)
            {
                io.BindInput(DecoderIo.PositionIds, pos);
            }

            io.BindInput(DecoderIo.SeqLensK, seqLens);
            io.BindInput(DecoderIo.TotalSequenceLength, total);
            foreach ((int layer, OrtValue k, OrtValue v) in caches)
            {
                io.BindInput(DecoderIo.PastKey(layer), k);
                io.BindInput(DecoderIo.PastValue(layer), v);
                io.BindOutput(DecoderIo.PresentKey(layer), k);
                io.BindOutput(DecoderIo.PresentValue(layer), v);
            }

            io.BindOutput(DecoderIo.NextToken, next);
            if (logits is not null)
            {
                io.BindOutput(DecoderIo.Logits, logits);
            }
            else if (deviceMemory is not null)
            {
                io.BindOutputToDevice(DecoderIo.Logits, deviceMemory);
            }
            else
            {
                io.BindOutputToDevice(DecoderIo.Logits, OrtMemoryInfo.DefaultInstance);
            }

            return io;
        }

        _prefill = Bind(prefillIds, prefillPos);
        _decode = Bind(decodeIds, decodePos);
    }

    public int Batch { get; }

    public int PromptTokens { get; }

    public int MaxContext { get; }

    /// <summary>Tokens in the cache of each sequence after the last run.</summary>
    public int Position => _position;

    /// <summary>The greedy tokens of the last run, one per sequence.</summary>
    public ReadOnlySpan<long> NextTokens => _nextTokens;

    /// <summary>Logits of the last position of the last run, [batch, vocab] (only with captureLogits).</summary>
    public ReadOnlySpan<float> Logits => _logits;

    /// <summary>Runs the prompt (batch x prompt tokens, row-major) and leaves the first generated tokens in <see cref="NextTokens"/>.</summary>
    public void Prefill(ReadOnlySpan<long> prompt)
    {
        prompt.CopyTo(_prefillIds);
        Array.Fill(_seqLens, PromptTokens - 1);
        _total[0] = PromptTokens;
        Run(_prefill);
        _position = PromptTokens;
    }

    /// <summary>Feeds the last tokens back and decodes one more token per sequence.</summary>
    public void Step()
    {
        if (_position >= MaxContext)
        {
            throw new InvalidOperationException($"The KV cache holds {MaxContext} tokens; no room for another step.");
        }

        _nextTokens.AsSpan().CopyTo(_decodeIds);
        Array.Fill(_decodePositions, _position);
        Array.Fill(_seqLens, _position);
        _total[0] = _position + 1;
        Run(_decode);
        _position++;
    }

    /// <summary>
    /// Moves the position back to <paramref name="position"/> tokens, so that the next steps overwrite
    /// the cache from there (a caller that decodes more tokens than the cache holds keeps the cost of
    /// a nearly full cache instead of failing).
    /// </summary>
    public void Rewind(int position)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(position, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(position, _position);
        _position = position;
    }

    public void Dispose()
    {
        for (int i = _owned.Count - 1; i >= 0; i--)
        {
            _owned[i].Dispose();
        }
    }

    private void Run(OrtIoBinding binding)
    {
        _session.RunWithBinding(_runOptions, binding);
        if (_cuda)
        {
            binding.SynchronizeBoundOutputs();
        }
    }

    private T Own<T>(T d)
        where T : IDisposable
    {
        _owned.Add(d);
        return d;
    }
}
