using Harness.Backends;
using Harness.Decoding;
using Harness.Metrics;
using Harness.Models;
using static TorchSharp.torch;

namespace Harness.Torch.Decoder;

/// <summary>
/// The decoder modules with a KV-cache slot per sequence (<see cref="SlotDecoder"/>): the model's
/// cache has a row per slot of the whole context; a joiner's prefill runs its prompt alone into its
/// row (<see cref="TorchDecoderModel.Forward"/> from that row), and a decode step runs rows 0 to the
/// highest in use at once, each at its own position, its K and V scattered to that position and its
/// attention masked to its length (<see cref="TorchDecoderModel.ForwardRows"/>). Each pass's
/// temporaries are freed by a dispose scope as it ends; the greedy tokens are read on the host.
/// </summary>
public sealed class TorchSlotDecoder : SlotDecoder
{
    private readonly TorchDecoderModel _model;

    public TorchSlotDecoder(BackendSpec backend, WorkloadOptions options, DecoderSpec spec)
        : base(spec)
    {
        CheckMemory(spec, DeviceMemory.For(backend.Device, backend.DeviceId));
        Name = $"{backend} {spec.Model.Name} {spec.DType.ShortName()}";
        (_model, Device device) = TorchRunnerFactory.LoadModel(backend, options, spec);
        try
        {
            _model.AllocateCache(spec.Slots, Context, this);
        }
        catch
        {
            _model.Dispose();
            throw;
        }

        Dictionary<string, object?> details = TorchSetup.Describe(device);
        details[ConfigKeys.Attention] = $"matmul + softmax (fp32) over a KV cache [slots, kv_heads, {Context}, head_dim]; a decode step scatters each row's K and V to its own position and masks its attention to its length";
        Details = DescribeBatching(details);
    }

    public override string Name { get; }

    public override IReadOnlyDictionary<string, object?> Details { get; }

    public override void Dispose() => _model.Dispose();

    protected override long Prefill(int slot, ReadOnlySpan<long> prompt)
    {
        using var mode = inference_mode();
        using var scope = NewDisposeScope();
        Tensor ids = tensor(prompt.ToArray(), [prompt.Length], ScalarType.Int64).to(_model.Device);
        Tensor logits = _model.Forward(ids, 1, prompt.Length, 0, firstRow: slot);
        return logits.argmax(-1).cpu().item<long>();
    }

    protected override void Decode(int rows, ReadOnlySpan<long> tokens, ReadOnlySpan<int> positions, Span<long> next)
    {
        using var mode = inference_mode();
        using var scope = NewDisposeScope();
        Tensor ids = tensor(tokens.ToArray(), [rows], ScalarType.Int64).to(_model.Device);
        Tensor host = _model.ForwardRows(ids, rows, positions).argmax(-1).cpu();
        unsafe
        {
            new ReadOnlySpan<long>((void*)host.storage<long>().data_ptr(), rows).CopyTo(next);
        }
    }
}
