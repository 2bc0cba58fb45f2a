using Harness.Decoding;
using Harness.Decoding.Sampling;
using static TorchSharp.torch;

namespace Harness.Torch.Sampling;

/// <summary>
/// <see cref="LogitSampler"/> in torch ops on the logits' own device (no copy of the vocabulary to
/// the host): penalties from a scatter of the history's ids, temperature, one sort of the row, top-k,
/// top-p and min-p as masks over the sorted row, the token by inverse CDF at each row's draw, and the
/// raw log-softmax for log-probabilities. Only tokens and the asked log-probabilities come back.
/// Gives the reference's tokens for the same draws (up to float rounding at a draw's boundary).
/// </summary>
public sealed class TorchSampler
{
    private readonly float[] _temperature;
    private readonly float[] _topP;
    private readonly float[] _minP;
    private readonly float[] _repetition;
    private readonly float[] _presence;
    private readonly float[] _frequency;
    private readonly float[] _uniform;
    private readonly long[] _topK;

    public TorchSampler(int vocab, int maxRows)
    {
        Vocab = vocab;
        _temperature = new float[maxRows];
        _topP = new float[maxRows];
        _minP = new float[maxRows];
        _repetition = new float[maxRows];
        _presence = new float[maxRows];
        _frequency = new float[maxRows];
        _uniform = new float[maxRows];
        _topK = new long[maxRows];
    }

    public int Vocab { get; }

    /// <summary>
    /// Samples rows 0 to <see cref="StepRows.Count"/> - 1 of the pass from <paramref name="logits"/>
    /// (float [rows, vocab] on any device): writes <see cref="StepRows.Next"/> and, where asked,
    /// <see cref="StepRows.Logprobs"/>.
    /// </summary>
    public void Sample(Tensor logits, StepRows rows)
    {
        Sample(logits, rows.Sequences, rows.Next, rows.Logprobs);
    }

    /// <summary>
    /// Samples row i of <paramref name="logits"/> for <paramref name="rows"/>[i] into <paramref name="next"/>[i]
    /// and <paramref name="logprobs"/>[i].
    /// </summary>
    public void Sample(Tensor logits, ReadOnlySpan<DecodeSequence> rows, Span<long> next, Span<TokenLogprobs?> logprobs)
    {
        int n = rows.Length;
        int history = 1, topN = 0;
        bool penalties = false;
        for (int i = 0; i < n; i++)
        {
            DecodeSequence s = rows[i];
            SamplingParams p = s.Sampling;
            _temperature[i] = (float)p.Temperature;
            _topP[i] = (float)p.TopP;
            _minP[i] = (float)p.MinP;
            _repetition[i] = (float)p.RepetitionPenalty;
            _presence[i] = (float)p.PresencePenalty;
            _frequency[i] = (float)p.FrequencyPenalty;
            _uniform[i] = (float)s.NextUniform();
            _topK[i] = p.TopK;
            topN = Math.Max(topN, Math.Min(p.TopLogprobs, Vocab));
            if (p.NeedsHistory)
            {
                penalties = true;
                history = Math.Max(history, s.PromptIds.Length + s.Generated.Length);
            }
        }

        using var mode = inference_mode();
        using var scope = NewDisposeScope();
        Device device = logits.device;
        Tensor Col(float[] values) => tensor(values.AsSpan(0, n).ToArray(), [n, 1], ScalarType.Float32).to(device);
        Tensor l = logits.to(ScalarType.Float32);
        if (penalties)
        {
            l = Penalize(l, rows, history, device);
        }

        Tensor greedy = l.argmax(1);
        Tensor temperature = Col(_temperature);
        Tensor isGreedy = temperature.eq(0);
        Tensor scaled = l / where(isGreedy, ones_like(temperature), temperature);
        (Tensor sorted, Tensor order) = scaled.sort(1, descending: true);
        Tensor e = (sorted - sorted.narrow(1, 0, 1)).exp();
        Tensor rank = arange(Vocab, ScalarType.Int64, device).unsqueeze(0);
        Tensor k = tensor(_topK.AsSpan(0, n).ToArray(), [n, 1], ScalarType.Int64).to(device);
        Tensor keepK = rank < where(k.eq(0), full_like(k, Vocab), k);
        Tensor eK = where(keepK, e, zeros_like(e));
        Tensor topP = Col(_topP);
        Tensor reach = where(topP >= 1, full_like(topP, 2), topP) * eK.sum(1, keepdim: true);
        Tensor keep = keepK & ((eK.cumsum(1) - eK) < reach) & (e >= Col(_minP));
        Tensor w = where(keep, e, zeros_like(e));
        Tensor target = Col(_uniform) * w.sum(1, keepdim: true);
        Tensor at = (w.cumsum(1) <= target).to(ScalarType.Int64).sum(1, keepdim: true);
        at = minimum(at, keep.to(ScalarType.Int64).sum(1, keepdim: true) - 1);
        Tensor sampled = order.gather(1, at).squeeze(1);
        Tensor tokens = where(isGreedy.squeeze(1), greedy, sampled);

        Tensor logsm = logits.to(ScalarType.Float32).log_softmax(1);
        Tensor chosen = logsm.gather(1, tokens.unsqueeze(1)).squeeze(1);
        long[] host = tokens.cpu().data<long>().ToArray();
        float[] chosenHost = chosen.cpu().data<float>().ToArray();
        long[] topIds = [];
        float[] topValues = [];
        if (topN > 0)
        {
            (Tensor values, Tensor indices) = logsm.topk(topN, 1);
            topIds = indices.cpu().data<long>().ToArray();
            topValues = values.cpu().data<float>().ToArray();
        }

        for (int i = 0; i < n; i++)
        {
            next[i] = host[i];
            SamplingParams p = rows[i].Sampling;
            if (p.Logprobs || p.TopLogprobs > 0)
            {
                var top = new (long Token, float Logprob)[Math.Min(p.TopLogprobs, Vocab)];
                for (int j = 0; j < top.Length; j++)
                {
                    top[j] = (topIds[(i * topN) + j], topValues[(i * topN) + j]);
                }

                logprobs[i] = new TokenLogprobs(host[i], chosenHost[i], top);
            }
        }
    }

    /// <summary>
    /// The repetition penalty over the prompt and output ids, then OpenAI's frequency and presence
    /// penalties over the output's counts.
    /// </summary>
    private Tensor Penalize(Tensor l, ReadOnlySpan<DecodeSequence> rows, int width, Device device)
    {
        int n = rows.Length;
        var ids = new long[n * width];
        var output = new float[n * width];
        var seen = new float[n * width];
        for (int i = 0; i < n; i++)
        {
            DecodeSequence s = rows[i];
            if (!s.Sampling.NeedsHistory)
            {
                continue;
            }

            int at = i * width;
            ReadOnlySpan<long> prompt = s.Sampling.RepetitionPenalty != 1 ? s.PromptIds.Span : default;
            prompt.CopyTo(ids.AsSpan(at));
            seen.AsSpan(at, prompt.Length).Fill(1);
            at += prompt.Length;
            s.Generated.CopyTo(ids.AsSpan(at));
            seen.AsSpan(at, s.Generated.Length).Fill(1);
            output.AsSpan(at, s.Generated.Length).Fill(1);
        }

        Tensor index = tensor(ids, [n, width], ScalarType.Int64).to(device);
        Tensor counts = zeros_like(l).scatter_add(1, index, tensor(output, [n, width], ScalarType.Float32).to(device));
        Tensor anySeen = zeros_like(l).scatter_add(1, index, tensor(seen, [n, width], ScalarType.Float32).to(device)) > 0;
        Tensor Col(float[] values) => tensor(values.AsSpan(0, n).ToArray(), [n, 1], ScalarType.Float32).to(device);
        Tensor rep = Col(_repetition);
        Tensor repeated = where(l > 0, l / rep, l * rep);
        l = where(anySeen, repeated, l);
        l = l - (counts * Col(_frequency));
        return l - ((counts > 0).to(ScalarType.Float32) * Col(_presence));
    }
}
