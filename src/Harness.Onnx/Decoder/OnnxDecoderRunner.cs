using Harness.Backends;
using Harness.Decoding;
using Harness.Onnx.Cuda;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Harness.Onnx.Decoder;

/// <summary>
/// Runs a generated decoder graph for one batch: batched prefill, then one greedy decode step at a
/// time. Everything is allocated and bound once (two IOBindings, prefill and decode): the KV cache
/// of every layer is one preallocated buffer bound as both past and present (GroupQueryAttention
/// updates it in place), and the per-run tensors (ids, positions, sequence lengths, next tokens) sit
/// in <see cref="TransferBlock"/>s at fixed addresses. A step allocates nothing on the managed side;
/// on CUDA its only transfers are one host-to-device copy of the step inputs and one device-to-host
/// copy of the B next tokens.
/// <para>
/// With fixed decode shapes every decode step presents the same shapes and addresses to ONNX
/// Runtime: total_sequence_length is the cache length, and each sequence's real length travels in
/// seqlens_k (the attention reads the cache up to it). That is what a captured CUDA graph needs, and
/// with <c>cudaGraph</c> the decode step is captured once and replayed; prefill is never captured.
/// </para>
/// A run that ONNX Runtime refuses is one sentence (exit 2).
/// </summary>
public sealed class OnnxDecoderRunner : IBatchRunner
{
    // Segments of the input blocks: ids, positions (int64), seqlens_k (int32).
    private const int Ids = 0, Positions = 1, SeqLens = 2;
    // Segments of the output block: next tokens (int64), logits (float32).
    private const int Next = 0, LogitsSegment = 1;

    private readonly List<IDisposable> _owned = [];
    private readonly InferenceSession _session;
    private readonly bool _captureLogits;
    private readonly TransferBlock _prefillIn;
    private readonly TransferBlock _decodeIn;
    private readonly TransferBlock _out;
    private readonly int[] _total = new int[1];
    private readonly OrtIoBinding _prefill;
    private readonly OrtIoBinding _decode;
    private readonly RunOptions _prefillOptions;
    private readonly RunOptions _decodeOptions;
    private readonly bool _cuda;
    private readonly string _what;
    private int _position;

    /// <param name="fixedDecodeShapes">Decode with constant shapes (see the class remarks); implied by <paramref name="cudaGraph"/>.</param>
    /// <param name="cudaGraph">The session was created with CUDA graph capture: capture and replay the decode step.</param>
    public OnnxDecoderRunner(InferenceSession session, DecoderConfig config, TensorDType dtype, BackendSpec backend, int batch, int promptTokens, int maxContext, bool captureLogits, bool fixedDecodeShapes = false, bool cudaGraph = false)
    {
        _session = session;
        _cuda = backend.Device == "cuda";
        if (cudaGraph && !_cuda)
        {
            throw HarnessException.BadInput($"CUDA graphs need a CUDA backend, not {backend}.");
        }

        _captureLogits = captureLogits;
        _what = $"the generated {config.Name} graph on {backend}";
        Batch = batch;
        PromptTokens = promptTokens;
        MaxContext = maxContext;
        FixedDecodeShapes = fixedDecodeShapes || cudaGraph;
        CudaGraph = cudaGraph;
        bool gpt2 = config.Architecture == DecoderArchitecture.Gpt2;
        long prefillTokens = (long)batch * promptTokens;

        try
        {
            _prefillIn = Own(new TransferBlock(_cuda, backend.DeviceId, prefillTokens * sizeof(long), prefillTokens * sizeof(long), batch * sizeof(int)));
            _decodeIn = Own(new TransferBlock(_cuda, backend.DeviceId, batch * sizeof(long), batch * sizeof(long), batch * sizeof(int)));
            _out = Own(new TransferBlock(_cuda, backend.DeviceId, batch * sizeof(long), (long)batch * config.Vocab * sizeof(float)));
            Span<long> positions = _prefillIn.Host<long>(Positions);
            for (int b = 0; b < batch; b++)
            {
                for (int s = 0; s < promptTokens; s++)
                {
                    positions[b * promptTokens + s] = s;
                }
            }

            // Prefill is never captured (its shapes differ from the decode step's).
            _prefillOptions = Own(new RunOptions());
            _decodeOptions = Own(new RunOptions());
            if (cudaGraph)
            {
                _prefillOptions.AddRunConfigEntry("gpu_graph_id", "-1");
            }

            // total_sequence_length is a CPU input of GroupQueryAttention on every provider: host memory, read live.
            OrtValue total = Own(OrtValue.CreateTensorValueFromMemory(_total, [1]));
            OrtValue next = _out.Tensor(Next, TensorElementType.Int64, batch);
            OrtValue logits = _out.Tensor(LogitsSegment, TensorElementType.Float, batch, config.Vocab);

            OrtMemoryInfo? deviceMemory = _cuda ? Own(new OrtMemoryInfo(OrtMemoryInfo.allocatorCUDA, OrtAllocatorType.DeviceAllocator, backend.DeviceId, OrtMemType.Default)) : null;
            OrtAllocator allocator = deviceMemory is null ? OrtAllocator.DefaultInstance : Own(new OrtAllocator(session, deviceMemory));
            TensorElementType kvType = ElementType(dtype);
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

            OrtIoBinding Bind(TransferBlock input, long seq)
            {
                OrtIoBinding io = Own(session.CreateIoBinding());
                io.BindInput(DecoderIo.InputIds, input.Tensor(Ids, TensorElementType.Int64, batch, seq));
                if (gpt2)
                {
                    io.BindInput(DecoderIo.PositionIds, input.Tensor(Positions, TensorElementType.Int64, batch, seq));
                }

                io.BindInput(DecoderIo.SeqLensK, input.Tensor(SeqLens, TensorElementType.Int32, batch));
                io.BindInput(DecoderIo.TotalSequenceLength, total);
                foreach ((int layer, OrtValue k, OrtValue v) in caches)
                {
                    io.BindInput(DecoderIo.PastKey(layer), k);
                    io.BindInput(DecoderIo.PastValue(layer), v);
                    io.BindOutput(DecoderIo.PresentKey(layer), k);
                    io.BindOutput(DecoderIo.PresentValue(layer), v);
                }

                io.BindOutput(DecoderIo.NextToken, next);
                io.BindOutput(DecoderIo.Logits, logits);
                return io;
            }

            _prefill = Bind(_prefillIn, promptTokens);
            _decode = Bind(_decodeIn, 1);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public int Batch { get; }

    public int PromptTokens { get; }

    public int MaxContext { get; }

    /// <summary>Decode steps run with constant shapes (total_sequence_length = <see cref="MaxContext"/>).</summary>
    public bool FixedDecodeShapes { get; }

    /// <summary>The decode step is captured as a CUDA graph and replayed.</summary>
    public bool CudaGraph { get; }

    /// <summary>Tokens in the cache of each sequence after the last run.</summary>
    public int Position => _position;

    /// <summary>The greedy tokens of the last run, one per sequence.</summary>
    public ReadOnlySpan<long> NextTokens => _out.Host<long>(Next);

    /// <summary>Logits of the last position of the last run, [batch, vocab] (only with captureLogits).</summary>
    public ReadOnlySpan<float> Logits => _captureLogits ? _out.Host<float>(LogitsSegment) : [];

    /// <summary>Runs the prompt (batch x prompt tokens, row-major) and leaves the first generated tokens in <see cref="NextTokens"/>.</summary>
    public void Prefill(ReadOnlySpan<long> prompt)
    {
        prompt.CopyTo(_prefillIn.Host<long>(Ids));
        _prefillIn.Host<int>(SeqLens).Fill(PromptTokens - 1);
        _total[0] = PromptTokens;
        _prefillIn.Upload();
        Run(_prefill, _prefillOptions);
        _position = PromptTokens;
    }

    /// <summary>Feeds the last tokens back and decodes one more token per sequence.</summary>
    public void Step()
    {
        if (_position >= MaxContext)
        {
            throw new InvalidOperationException($"The KV cache holds {MaxContext} tokens; no room for another step.");
        }

        _out.Host<long>(Next).CopyTo(_decodeIn.Host<long>(Ids));
        _decodeIn.Host<long>(Positions).Fill(_position);
        _decodeIn.Host<int>(SeqLens).Fill(_position);
        _total[0] = FixedDecodeShapes ? MaxContext : _position + 1;
        _decodeIn.Upload();
        Run(_decode, _decodeOptions);
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

        _owned.Clear();
    }

    /// <summary>The ONNX element type of a decoder's KV cache in <paramref name="dtype"/>.</summary>
    internal static TensorElementType ElementType(TensorDType dtype) => dtype switch
    {
        TensorDType.Float32 => TensorElementType.Float,
        TensorDType.Float16 => TensorElementType.Float16,
        _ => TensorElementType.BFloat16,
    };

    /// <summary>Runs a binding; a run ONNX Runtime refuses is one sentence naming <paramref name="what"/> (exit 2).</summary>
    internal static void Run(InferenceSession session, RunOptions options, OrtIoBinding binding, string what)
    {
        try
        {
            session.RunWithBinding(options, binding);
        }
        catch (OnnxRuntimeException e)
        {
            throw HarnessException.BadInput($"ONNX Runtime could not run {what}: {OnnxSessionFactory.FirstLine(e.Message)}", e);
        }
    }

    private void Run(OrtIoBinding binding, RunOptions options)
    {
        Run(_session, options, binding, _what);

        if (_cuda)
        {
            binding.SynchronizeBoundOutputs();
            _out.Download(Next);
            if (_captureLogits)
            {
                _out.Download(LogitsSegment);
            }
        }
    }

    private T Own<T>(T d)
        where T : IDisposable
    {
        _owned.Add(d);
        return d;
    }
}
