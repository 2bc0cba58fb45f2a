namespace Harness.Decoding.Sampling;

/// <summary>
/// The reference sampler, on one row of float logits on the host: the sampler of a backend whose
/// logits are on the host, and the definition the device samplers (an ONNX graph, torch ops) are
/// tested against. In order, as vLLM and Hugging Face apply them:
/// <list type="number">
/// <item>penalties: repetition (vLLM's and Hugging Face's: the logit of a token seen in the prompt
/// or the output is divided by the penalty when positive, multiplied when not), then frequency and
/// presence exactly as OpenAI defines them, over the output so far:
/// <c>logit[j] -= count[j] * frequency + (count[j] &gt; 0) * presence</c>;</item>
/// <item>temperature 0: the argmax of the penalized logits (the first on a tie); else the logits
/// divided by it, sorted from the most likely token down;</item>
/// <item>top-k: the k first; top-p: the smallest prefix whose probability (renormalized over the
/// top-k) reaches p; min-p: the tokens at least min_p times as likely as the first;</item>
/// <item>the token: inverse CDF of the kept tokens, in that sorted order, at the sequence's uniform
/// draw (<see cref="DecodeSequence.NextUniform"/>), so the same draw picks the same token on every backend.</item>
/// </list>
/// Log-probabilities are the log-softmax of the raw logits (vLLM's default), before penalties and
/// temperature. Buffers are kept from call to call: a call allocates nothing but the log-probabilities asked for.
/// </summary>
public sealed class LogitSampler
{
    private readonly float[] _work;
    private readonly float[] _keys;
    private readonly int[] _order;
    private readonly float[] _weights;
    private readonly int[] _counts;
    private readonly bool[] _seen;
    private readonly int[] _topIds = new int[SamplingParams.MaxTopLogprobs];
    private readonly float[] _topValues = new float[SamplingParams.MaxTopLogprobs];

    public LogitSampler(int vocab)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(vocab, 1);
        Vocab = vocab;
        _work = new float[vocab];
        _keys = new float[vocab];
        _order = new int[vocab];
        _weights = new float[vocab];
        _counts = new int[vocab];
        _seen = new bool[vocab];
    }

    public int Vocab { get; }

    /// <summary>
    /// Samples every row of a pass from <paramref name="logits"/> (rows x <see cref="Vocab"/>, row i for
    /// the pass's row i): writes <see cref="StepRows.Next"/> and, where asked, <see cref="StepRows.Logprobs"/>.
    /// </summary>
    public void Sample(StepRows rows, ReadOnlySpan<float> logits)
    {
        for (int i = 0; i < rows.Count; i++)
        {
            (rows.Next[i], rows.Logprobs[i]) = Sample(logits.Slice(i * Vocab, Vocab), rows.Sequence(i));
        }
    }

    /// <summary>The next token of <paramref name="sequence"/> from its row of logits, and its log-probabilities when asked.</summary>
    public (long Token, TokenLogprobs? Logprobs) Sample(ReadOnlySpan<float> logits, DecodeSequence sequence)
    {
        SamplingParams p = sequence.Sampling;
        long token = Sample(logits, p, sequence.PromptIds.Span, sequence.Generated, sequence.NextUniform());
        return (token, Logprobs(logits, token, p));
    }

    /// <summary>The token of one row.</summary>
    /// <param name="prompt">The prompt's ids (the repetition penalty counts them as seen; may be empty).</param>
    /// <param name="generated">The tokens generated so far (all penalties count them).</param>
    /// <param name="uniform">The sequence's draw in [0, 1) for this token.</param>
    public long Sample(
        ReadOnlySpan<float> logits, SamplingParams p, ReadOnlySpan<long> prompt, ReadOnlySpan<long> generated, double uniform)
    {
        if (logits.Length != Vocab)
        {
            throw new ArgumentException($"{logits.Length} logits for a vocabulary of {Vocab}.", nameof(logits));
        }

        ReadOnlySpan<float> l = p.NeedsHistory ? Penalize(logits, p, prompt, generated) : logits;

        if (p.Temperature == 0)
        {
            return ArgMax(l);
        }

        // The order is the scaled logit's, from the most likely down (the lower id first on a tie);
        // weights are exp(scaled - max), the first one's 1. No sort: each cut below is a selection
        // (expected linear time) that leaves the tokens before it at the front of _order.
        float t = (float)p.Temperature;
        float top = float.NegativeInfinity;
        for (int j = 0; j < Vocab; j++)
        {
            float v = l[j] / t;
            _keys[j] = v;
            _order[j] = j;
            top = Math.Max(top, v);
        }

        for (int j = 0; j < Vocab; j++)
        {
            _weights[j] = MathF.Exp(_keys[j] - top);
        }

        int n = Vocab;
        if (p.TopK > 0 && p.TopK < Vocab)
        {
            n = p.TopK;
            Select(_order.AsSpan(), n - 1, unit: true);
        }

        if (p.TopP < 1)
        {
            // The smallest prefix whose mass reaches p: the token where the mass before it crosses p,
            // kept unless the mass before it is p exactly.
            double reach = p.TopP * Mass(_order.AsSpan(0, n));
            (int at, double before) = Select(_order.AsSpan(0, n), reach, unit: false);
            n = before < reach ? at + 1 : at;
        }

        if (p.MinP > 0)
        {
            // Weights are relative to the first token's: those at least min_p are a prefix of the order.
            n = Partition(_order.AsSpan(0, n), (float)p.MinP);
        }

        Span<int> kept = _order.AsSpan(0, n);
        double target = uniform * Mass(kept);
        (int chosen, _) = Select(kept, target, unit: false);
        return kept[chosen];
    }

    /// <summary>
    /// The log-probabilities <paramref name="p"/> asks for of <paramref name="token"/> (the raw
    /// logits' log-softmax), with the most likely <see cref="SamplingParams.TopLogprobs"/>; null when none are asked.
    /// </summary>
    public TokenLogprobs? Logprobs(ReadOnlySpan<float> logits, long token, SamplingParams p)
    {
        if (!p.Logprobs && p.TopLogprobs == 0)
        {
            return null;
        }

        float max = float.NegativeInfinity;
        foreach (float v in logits)
        {
            max = Math.Max(max, v);
        }

        double sum = 0;
        foreach (float v in logits)
        {
            sum += Math.Exp(v - max);
        }

        float lse = max + (float)Math.Log(sum);
        int k = Math.Min(p.TopLogprobs, Vocab);
        int filled = 0;
        for (int j = 0; j < logits.Length; j++)
        {
            float v = logits[j];
            if (filled == k && (k == 0 || v <= _topValues[k - 1]))
            {
                continue;
            }

            // Insertion into the k best so far (a later token goes after an equal one).
            int at = filled < k ? filled++ : k - 1;
            while (at > 0 && _topValues[at - 1] < v)
            {
                _topValues[at] = _topValues[at - 1];
                _topIds[at] = _topIds[at - 1];
                at--;
            }

            _topValues[at] = v;
            _topIds[at] = j;
        }

        var top = new (long Token, float Logprob)[k];
        for (int i = 0; i < k; i++)
        {
            top[i] = (_topIds[i], _topValues[i] - lse);
        }

        return new TokenLogprobs(token, logits[(int)token] - lse, top);
    }

    /// <summary>The index of the largest value, the first on a tie.</summary>
    public static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int j = 1; j < values.Length; j++)
        {
            if (values[j] > values[best])
            {
                best = j;
            }
        }

        return best;
    }

    /// <summary>Whether token a comes before token b in the order: a larger scaled logit, or the same and a lower id.</summary>
    private bool Before(int a, int b) => _keys[a] > _keys[b] || (_keys[a] == _keys[b] && a < b);

    private double Mass(ReadOnlySpan<int> tokens)
    {
        double sum = 0;
        foreach (int j in tokens)
        {
            sum += _weights[j];
        }

        return sum;
    }

    /// <summary>Moves the tokens of weight at least <paramref name="min"/> to the front; returns how many.</summary>
    private int Partition(Span<int> tokens, float min)
    {
        int n = 0;
        for (int i = 0; i < tokens.Length; i++)
        {
            if (_weights[tokens[i]] >= min)
            {
                (tokens[n], tokens[i]) = (tokens[i], tokens[n]);
                n++;
            }
        }

        return n;
    }

    /// <summary>Puts the token of rank <paramref name="rank"/> at that position, those before it in front (any order).</summary>
    private void Select(Span<int> tokens, int rank, bool unit) => Select(tokens, rank + 0.5, unit);

    /// <summary>
    /// Finds, in the order, the token where the cumulative weight (each weight 1 when
    /// <paramref name="unit"/>) passes <paramref name="target"/>: the mass before it is at most the
    /// target and with it above (the last token when the target reaches the whole mass). Leaves
    /// the tokens before it at the front of <paramref name="tokens"/> and the ones after behind it;
    /// returns its position and the mass before it. Quickselect, weighted: expected linear time.
    /// </summary>
    private (int At, double Before) Select(Span<int> tokens, double target, bool unit)
    {
        int lo = 0, hi = tokens.Length;
        double passed = 0;
        uint state = 2463534242;
        while (hi - lo > 1)
        {
            // A pseudo-random pivot (xorshift): no input makes it quadratic on purpose.
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            int pick = lo + (int)(state % (uint)(hi - lo));
            (tokens[pick], tokens[hi - 1]) = (tokens[hi - 1], tokens[pick]);
            int pivot = tokens[hi - 1];
            int store = lo;
            double front = 0;
            for (int i = lo; i < hi - 1; i++)
            {
                int j = tokens[i];
                if (Before(j, pivot))
                {
                    front += unit ? 1 : _weights[j];
                    (tokens[store], tokens[i]) = (j, tokens[store]);
                    store++;
                }
            }

            (tokens[store], tokens[hi - 1]) = (pivot, tokens[store]);
            double w = unit ? 1 : _weights[pivot];
            if (target < passed + front)
            {
                hi = store;
            }
            else if (target < passed + front + w || store == hi - 1)
            {
                return (store, passed + front);
            }
            else
            {
                passed += front + w;
                lo = store + 1;
            }
        }

        return (lo, passed);
    }

    /// <summary>
    /// The logits after the penalties (a buffer of this sampler, valid until its next call): the
    /// repetition penalty once per token seen in <paramref name="prompt"/> or <paramref name="generated"/>,
    /// then <c>logit[j] - count[j] * frequency - (count[j] &gt; 0) * presence</c> over <paramref name="generated"/>.
    /// </summary>
    public ReadOnlySpan<float> Penalize(
        ReadOnlySpan<float> logits, SamplingParams p, ReadOnlySpan<long> prompt, ReadOnlySpan<long> generated)
    {
        logits.CopyTo(_work);
        float rep = (float)p.RepetitionPenalty;
        float frequency = (float)p.FrequencyPenalty, presence = (float)p.PresencePenalty;
        foreach (long t in generated)
        {
            _counts[t]++;
        }

        if (rep != 1)
        {
            Repeat(prompt, rep);
            Repeat(generated, rep);
            Unsee(prompt);
            Unsee(generated);
        }

        foreach (long t in generated)
        {
            int c = _counts[t];
            if (c > 0)
            {
                _work[t] = _work[t] - (c * frequency) - presence;
                _counts[t] = 0;
            }
        }

        return _work;
    }

    /// <summary>The repetition penalty, once per token seen.</summary>
    private void Repeat(ReadOnlySpan<long> tokens, float rep)
    {
        foreach (long t in tokens)
        {
            if (!_seen[t])
            {
                _seen[t] = true;
                float v = _work[t];
                _work[t] = v > 0 ? v / rep : v * rep;
            }
        }
    }

    private void Unsee(ReadOnlySpan<long> tokens)
    {
        foreach (long t in tokens)
        {
            _seen[t] = false;
        }
    }
}
