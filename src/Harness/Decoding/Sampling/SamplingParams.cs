namespace Harness.Decoding.Sampling;

/// <summary>
/// How one sequence picks its next token, in OpenAI's and vLLM's terms. The defaults are greedy
/// (temperature 0) with no penalty and no log-probabilities, which a backend may serve with its
/// graph's own argmax; anything else runs the backend's sampler where the logits are.
/// </summary>
public sealed record SamplingParams
{
    /// <summary>Greedy decoding, nothing returned beside the token.</summary>
    public static SamplingParams Greedy { get; } = new();

    /// <summary>0 is greedy (argmax); above 0 the logits are divided by it before the softmax.</summary>
    public double Temperature { get; init; }

    /// <summary>Keep the k most likely tokens; 0 keeps all.</summary>
    public int TopK { get; init; }

    /// <summary>Keep the smallest set of most likely tokens whose probability reaches p; 1 keeps all.</summary>
    public double TopP { get; init; } = 1;

    /// <summary>Drop tokens less likely than min_p times the most likely one; 0 keeps all.</summary>
    public double MinP { get; init; }

    /// <summary>vLLM's and Hugging Face's: a seen token's positive logit is divided by it, a negative one multiplied; 1 is off.</summary>
    public double RepetitionPenalty { get; init; } = 1;

    /// <summary>OpenAI's: subtracted once from the logit of every token generated so far.</summary>
    public double PresencePenalty { get; init; }

    /// <summary>OpenAI's: subtracted from a token's logit once per time it was generated so far.</summary>
    public double FrequencyPenalty { get; init; }

    /// <summary>Seed of the sequence's draws: the same seed gives the same tokens wherever the sequence runs.</summary>
    public ulong Seed { get; init; }

    /// <summary>Return the chosen token's log-probability (OpenAI's <c>logprobs</c>).</summary>
    public bool Logprobs { get; init; }

    /// <summary>Also return this many most likely tokens with theirs (OpenAI's <c>top_logprobs</c>, 0 to 20).</summary>
    public int TopLogprobs { get; init; }

    /// <summary>True when the penalties need the tokens generated so far.</summary>
    public bool NeedsHistory => RepetitionPenalty != 1 || PresencePenalty != 0 || FrequencyPenalty != 0;

    /// <summary>True when the graph's argmax gives the token and nothing else is asked: no sampler runs.</summary>
    public bool IsPlainGreedy => Temperature == 0 && !NeedsHistory && !Logprobs && TopLogprobs == 0;
}

/// <summary>A token's log-probability, with the most likely alternatives when asked (OpenAI's logprobs content entry).</summary>
public sealed record TokenLogprobs(long Token, float Logprob, IReadOnlyList<(long Token, float Logprob)> Top);
