using Harness.Decoding;
using static TorchSharp.torch;

namespace Harness.Torch.Decoder;

/// <summary>
/// Greedy generation on TorchSharp for one batch: prefill, then one step at a time. The step's
/// tokens stay on the device as the next input, and a host copy is read each step (the only
/// device-to-host transfer, which also synchronizes the step). Each step's temporaries are freed
/// by a dispose scope as soon as it ends. The KV cache belongs to the model: runners of other shapes
/// over the same model take it over (reallocated to their shape) at their prefill.
/// </summary>
public sealed class TorchDecoderRunner : IBatchRunner
{
    private readonly TorchDecoderModel _model;
    private readonly long[] _next;
    private readonly float[]? _logits;
    private Tensor? _lastTokens;
    private int _position;

    public TorchDecoderRunner(TorchDecoderModel model, int batch, int promptTokens, int maxContext, bool captureLogits)
    {
        _model = model;
        Batch = batch;
        PromptTokens = promptTokens;
        MaxContext = maxContext;
        _next = new long[batch];
        if (captureLogits)
        {
            _logits = new float[(long)batch * model.Vocab];
        }

        model.AllocateCache(batch, maxContext, this);
    }

    public int Batch { get; }

    public int PromptTokens { get; }

    public int MaxContext { get; }

    public int Position => _position;

    public ReadOnlySpan<long> NextTokens => _next;

    public ReadOnlySpan<float> Logits => _logits;

    public void Prefill(ReadOnlySpan<long> prompt)
    {
        if (!ReferenceEquals(_model.CacheOwner, this))
        {
            _model.AllocateCache(Batch, MaxContext, this);
        }

        using var mode = inference_mode();
        using var scope = NewDisposeScope();
        Tensor ids = tensor(prompt.ToArray(), [(long)Batch * PromptTokens], ScalarType.Int64).to(_model.Device);
        Run(ids, PromptTokens, 0);
        _position = PromptTokens;
    }

    public void Step()
    {
        if (_lastTokens is null)
        {
            throw new InvalidOperationException("Prefill first.");
        }

        using var mode = inference_mode();
        using var scope = NewDisposeScope();
        Run(_lastTokens, 1, _position);
        _position++;
    }

    /// <summary>Moves the position back, so that the next steps overwrite the cache from there.</summary>
    public void Rewind(int position)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(position, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(position, _position);
        _position = position;
    }

    public void Dispose() => _lastTokens?.Dispose();

    private void Run(Tensor ids, int seq, int position)
    {
        Tensor logits = _model.Forward(ids, Batch, seq, position);
        Tensor next = logits.argmax(-1);
        Tensor host = next.cpu();
        unsafe
        {
            new ReadOnlySpan<long>((void*)host.storage<long>().data_ptr(), Batch).CopyTo(_next);
        }

        if (_logits is not null)
        {
            Tensor l = logits.cpu().contiguous();
            unsafe
            {
                new ReadOnlySpan<float>((void*)l.storage<float>().data_ptr(), _logits.Length).CopyTo(_logits);
            }
        }

        _lastTokens?.Dispose();
        _lastTokens = next.DetachFromDisposeScope();
    }
}
