using System.Globalization;

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

    /// <summary>Top log-probabilities one token may ask for at most (OpenAI's limit).</summary>
    public const int MaxTopLogprobs = 20;

    /// <summary>
    /// The first value out of OpenAI's (and vLLM's) range, in one sentence naming the field as the
    /// API does; null when all are in range.
    /// </summary>
    public string? Problem()
    {
        static string F(double v) => v.ToString("G", CultureInfo.InvariantCulture);
        return Temperature is < 0 or > 2 || double.IsNaN(Temperature) ? $"temperature must be from 0 to 2, not {F(Temperature)}."
            : TopK < 0 ? $"top_k must be 0 (all tokens) or more, not {TopK}."
            : !(TopP > 0 && TopP <= 1) ? $"top_p must be above 0 and at most 1, not {F(TopP)}."
            : MinP is < 0 or > 1 || double.IsNaN(MinP) ? $"min_p must be from 0 to 1, not {F(MinP)}."
            : !(RepetitionPenalty > 0 && RepetitionPenalty <= 2)
                ? $"repetition_penalty must be above 0 and at most 2, not {F(RepetitionPenalty)}."
            : PresencePenalty is < -2 or > 2 || double.IsNaN(PresencePenalty)
                ? $"presence_penalty must be from -2 to 2, not {F(PresencePenalty)}."
            : FrequencyPenalty is < -2 or > 2 || double.IsNaN(FrequencyPenalty)
                ? $"frequency_penalty must be from -2 to 2, not {F(FrequencyPenalty)}."
            : TopLogprobs is < 0 or > MaxTopLogprobs ? $"top_logprobs must be from 0 to {MaxTopLogprobs}, not {TopLogprobs}."
            : null;
    }

    /// <summary>Itself when every value is in range; else bad input with <see cref="Problem"/>'s sentence.</summary>
    public SamplingParams Validated() => Problem() is { } p ? throw HarnessException.BadInput(p) : this;

    /// <summary>
    /// These parameters for sequence <paramref name="index"/> of a run seeded <paramref name="runSeed"/>:
    /// each sequence its own seed, the same in every run with that seed.
    /// </summary>
    public SamplingParams ForSequence(int runSeed, int index)
    {
        ulong z = ((ulong)(uint)runSeed << 32) | (uint)index;
        z = (z ^ (z >> 33)) * 0xFF51AFD7ED558CCDUL;
        z = (z ^ (z >> 33)) * 0xC4CEB9FE1A85EC53UL;
        return this with { Seed = z ^ (z >> 33) };
    }

    /// <summary>What the result's config says of them, in words.</summary>
    public string Describe()
    {
        if (IsPlainGreedy)
        {
            return "greedy (argmax), every token read on the host each step";
        }

        var parts = new List<string>
        {
            Temperature == 0
                ? "greedy (argmax after penalties)"
                : string.Create(CultureInfo.InvariantCulture, $"temperature {Temperature}"),
        };
        void Add(bool on, FormattableString text)
        {
            if (on)
            {
                parts.Add(text.ToString(CultureInfo.InvariantCulture));
            }
        }

        Add(TopK > 0, $"top_k {TopK}");
        Add(TopP < 1, $"top_p {TopP}");
        Add(MinP > 0, $"min_p {MinP}");
        Add(RepetitionPenalty != 1, $"repetition_penalty {RepetitionPenalty}");
        Add(PresencePenalty != 0, $"presence_penalty {PresencePenalty}");
        Add(FrequencyPenalty != 0, $"frequency_penalty {FrequencyPenalty}");
        Add(Logprobs || TopLogprobs > 0, $"logprobs (top {TopLogprobs})");
        return string.Join(", ", parts) + "; sampled where the logits are, each sequence seeded from the run's seed";
    }
}

/// <summary>A token's log-probability, with the most likely alternatives when asked (OpenAI's logprobs content entry).</summary>
public sealed record TokenLogprobs(long Token, float Logprob, IReadOnlyList<(long Token, float Logprob)> Top);
