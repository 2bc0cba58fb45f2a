using Harness.Backends;
using Harness.Decoding;
using Harness.Metrics;
using Harness.Models;
using Harness.Torch.Sampling;
using static TorchSharp.torch;

namespace Harness.Torch.Decoder;

/// <summary>
/// TorchSharp's one decoder (<see cref="BatchDecoder"/>: generate, the agents and serving all run it).
/// The decoder modules with fp32 weights on the CPU, bf16 on CUDA by default (the same seeded weights
/// as the ONNX graph), and a KV cache of the live rows that grows and shrinks in blocks
/// (<see cref="TorchDecoderModel.ResizeCache"/>). The joiners of an iteration are prefilled in one
/// pass, their prompts right-padded to the longest (<see cref="TorchDecoderModel.ForwardPrompts"/>);
/// a decode step runs the live rows at once, each at its own position
/// (<see cref="TorchDecoderModel.ForwardRows"/>). Each pass's temporaries are freed by a dispose
/// scope as it ends; the greedy tokens are read on the host (the step's one device-to-host copy,
/// which also synchronizes it).
/// </summary>
public sealed class TorchDecoder : BatchDecoder
{
    private readonly TorchDecoderModel _model;
    private readonly int[] _lengths;
    private long[] _padded = [];
    private TorchSampler? _sampler;

    /// <summary>Checks the memory, then loads libtorch and the weights (see <see cref="LoadModel"/>).</summary>
    public TorchDecoder(BackendSpec backend, WorkloadOptions options, DecoderSpec spec, int blockTokens = DefaultBlockTokens)
        : base(spec, blockTokens)
    {
        CheckMemory(DeviceMemory.For(backend.Device, backend.DeviceId));
        Name = $"{backend} {spec.Model.Name} {spec.DType.ShortName()}";
        (_model, Device device) = LoadModel(backend, options, spec);
        _lengths = new int[spec.Slots];
        Dictionary<string, object?> details = TorchSetup.Describe(device);
        details[ConfigKeys.Attention] = "matmul + softmax (fp32) over a KV cache [rows, kv_heads, tokens, head_dim] per layer, "
            + "no scaled_dot_product_attention (no cuDNN plans per length); joiners prefilled right-padded under the causal mask; "
            + "a decode step of rows at different lengths scatters each row's K and V to its position "
            + "and masks its attention to its length";
        Details = DescribeBatching(details);
    }

    public override string Name { get; }

    public override IReadOnlyDictionary<string, object?> Details { get; }

    /// <summary>The modules and their KV cache (for tests).</summary>
    internal TorchDecoderModel Model => _model;

    /// <summary>
    /// Loads libtorch and the model's weights (seeded, or read from its files) on the backend's device (on CUDA, staged as fp32
    /// on the host first: that is checked too).
    /// </summary>
    internal static (TorchDecoderModel Model, Device Device) LoadModel(BackendSpec backend, WorkloadOptions options, DecoderSpec spec)
    {
        if (backend.Device == "cuda")
        {
            const string Staging = "this host (staging the fp32 weights)";
            MemoryFit.Check(spec.Model, 1, 1, 1, TensorDType.Float32, MemoryFit.HostAvailableBytes(), Staging);
        }

        Device device = TorchSetup.Prepare(backend, options);
        var model = new TorchDecoderModel(spec.Model);
        try
        {
            using IWeightSource weights = ModelWeights.Open(spec.Model, spec.WeightSeed);
            model.LoadWeights(weights, TorchSetup.ScalarTypeOf(spec.DType), device);
        }
        catch
        {
            model.Dispose();
            throw;
        }

        return (model, device);
    }

    public override void Dispose() => _model.Dispose();

    protected override void Resize(int rows, int tokens, ReadOnlySpan<int> lengths) => _model.ResizeCache(rows, tokens, lengths);

    protected override void MoveRow(int from, int to, int tokens) => _model.MoveRow(from, to, tokens);

    protected override void Prefill(StepRows rows)
    {
        int n = rows.Count, seq = rows.LongestPrompt;
        if (_padded.Length < n * seq)
        {
            _padded = new long[Math.Max(n * seq, _padded.Length * 2)];
        }

        for (int i = 0; i < n; i++)
        {
            ReadOnlySpan<long> prompt = rows.Prompt(i);
            Span<long> row = _padded.AsSpan(i * seq, seq);
            prompt.CopyTo(row);
            row[prompt.Length..].Clear();
            _lengths[i] = prompt.Length;
        }

        using var mode = inference_mode();
        using var scope = NewDisposeScope();
        Pick(_model.ForwardPrompts(_padded, seq, _lengths.AsSpan(0, n), rows.FirstRow), rows);
    }

    protected override void Decode(StepRows rows)
    {
        using var mode = inference_mode();
        using var scope = NewDisposeScope();
        Pick(_model.ForwardRows(rows.Tokens, rows.Positions), rows);
    }

    /// <summary>
    /// The rows' tokens: the argmax when all are plain greedy, else the <see cref="TorchSampler"/> on
    /// the logits' device.
    /// </summary>
    private void Pick(Tensor logits, StepRows rows)
    {
        if (rows.AllPlainGreedy)
        {
            Greedy(logits, rows.Next);
            return;
        }

        (_sampler ??= new TorchSampler(Spec.Model.Vocab, Slots)).Sample(logits.reshape(rows.Count, Spec.Model.Vocab), rows);
    }

    /// <summary>Each row's argmax token, read on the host.</summary>
    private static void Greedy(Tensor logits, Span<long> next)
    {
        Tensor host = logits.argmax(-1).cpu();
        unsafe
        {
            new ReadOnlySpan<long>((void*)host.storage<long>().data_ptr(), next.Length).CopyTo(next);
        }
    }
}
