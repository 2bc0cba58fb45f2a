using Harness.Decoding;
using Harness.Decoding.Sampling;

namespace Harness.Tests.Decoding.Sampling;

public class LogitSamplerTests
{
    private static readonly float[] Logits = [2.0f, 1.5f, 1.0f, 0.5f, 0.0f, -0.5f, -1.0f, -2.0f];

    /// <summary>Chi-square critical value for 7 degrees of freedom at a significance of 0.001.</summary>
    private const double Critical7 = 24.322;

    /// <summary>The sequence's own draws, token after token, as a decoder takes them.</summary>
    private static int[] Counts(SamplingParams p, float[] logits, int draws)
    {
        var sampler = new LogitSampler(logits.Length);
        var sequence = new DecodeSequence(0, 1, draws, sampling: p);
        var counts = new int[logits.Length];
        for (int i = 0; i < draws; i++)
        {
            (long token, _) = sampler.Sample(logits, sequence);
            counts[token]++;
            sequence.Emit(token);
        }

        return counts;
    }

    private static double[] Softmax(float[] logits, double t)
    {
        double max = logits.Max();
        double[] e = [.. logits.Select(l => Math.Exp((l - max) / t))];
        double z = e.Sum();
        return [.. e.Select(x => x / z)];
    }

    private static double ChiSquare(int[] counts, double[] probabilities)
    {
        double n = counts.Sum(), chi = 0;
        for (int j = 0; j < counts.Length; j++)
        {
            double expected = n * probabilities[j];
            chi += (counts[j] - expected) * (counts[j] - expected) / expected;
        }

        return chi;
    }

    [Theory]
    [InlineData(0.7, 1UL)]
    [InlineData(1.0, 2UL)]
    [InlineData(1.5, 3UL)]
    public void Token_frequencies_at_temperature_T_pass_a_chi_square_test_against_softmax_of_logits_over_T(double t, ulong seed)
    {
        // Seeded draws: the test is deterministic; 0.001 significance leaves room for the seed chosen.
        int[] counts = Counts(new SamplingParams { Temperature = t, Seed = seed }, Logits, 20_000);

        double chi = ChiSquare(counts, Softmax(Logits, t));

        Assert.True(chi < Critical7, $"chi-square {chi:F1} at temperature {t} (critical {Critical7})");
    }

    [Fact]
    public void The_chi_square_test_fails_against_a_wrong_temperature()
    {
        int[] counts = Counts(new SamplingParams { Temperature = 0.7, Seed = 1 }, Logits, 20_000);

        Assert.True(ChiSquare(counts, Softmax(Logits, 0.8)) > Critical7);
        Assert.True(ChiSquare(counts, Softmax(Logits, 0.6)) > Critical7);
    }

    /// <summary>Probabilities 0.5, 0.3, 0.15, 0.05 (at temperature 1).</summary>
    private static readonly float[] Known = [MathF.Log(0.5f), MathF.Log(0.3f), MathF.Log(0.15f), MathF.Log(0.05f)];

    /// <summary>How often each token comes out over draws spread evenly over [0, 1): its exact share of the kept mass.</summary>
    private static double[] Shares(SamplingParams p, float[] logits, int draws = 10_000)
    {
        var sampler = new LogitSampler(logits.Length);
        var counts = new double[logits.Length];
        for (int i = 0; i < draws; i++)
        {
            counts[sampler.Sample(logits, p, [], [], (i + 0.5) / draws)]++;
        }

        return [.. counts.Select(c => c / draws)];
    }

    [Theory]
    [InlineData(0.45, 1)] // 0.5 reaches 0.45
    [InlineData(0.75, 2)] // 0.5 does not; 0.5 + 0.3 does
    [InlineData(0.85, 3)]
    [InlineData(0.99, 4)]
    [InlineData(1.0, 4)]
    public void Top_p_keeps_the_smallest_set_whose_mass_reaches_p(double topP, int kept)
    {
        double[] shares = Shares(new SamplingParams { Temperature = 1, TopP = topP }, Known);

        double mass = new[] { 0.5, 0.3, 0.15, 0.05 }.Take(kept).Sum();
        for (int j = 0; j < Known.Length; j++)
        {
            double expected = j < kept ? new[] { 0.5, 0.3, 0.15, 0.05 }[j] / mass : 0;
            Assert.Equal(expected, shares[j], 3);
        }
    }

    [Fact]
    public void Top_k_keeps_the_k_most_likely_and_top_p_then_works_on_their_renormalized_mass()
    {
        double[] shares = Shares(new SamplingParams { Temperature = 1, TopK = 2 }, Known);
        Assert.Equal([0.625, 0.375, 0, 0], shares.Select(s => Math.Round(s, 3)));

        // Over the top 2, 0.625 reaches 0.6: one token is left.
        double[] both = Shares(new SamplingParams { Temperature = 1, TopK = 2, TopP = 0.6 }, Known);
        Assert.Equal([1.0, 0, 0, 0], both.Select(s => Math.Round(s, 3)));
    }

    [Fact]
    public void Min_p_drops_tokens_less_likely_than_min_p_times_the_first()
    {
        // 0.2 x 0.5 = 0.1: 0.15 stays, 0.05 goes.
        double[] shares = Shares(new SamplingParams { Temperature = 1, MinP = 0.2 }, Known);

        Assert.Equal([0.526, 0.316, 0.158, 0], shares.Select(s => Math.Round(s, 3)));
    }

    [Fact]
    public void Presence_and_frequency_penalties_follow_OpenAIs_definition()
    {
        var sampler = new LogitSampler(5);
        float[] logits = [1f, 2f, 3f, -1f, 0.5f];
        var p = new SamplingParams { Temperature = 1, PresencePenalty = 0.5, FrequencyPenalty = 0.25 };
        long[] generated = [2, 0, 2, 2, 3];

        float[] penalized = sampler.Penalize(logits, p, [4], generated).ToArray();

        // logit[j] - count[j] * frequency - (count[j] > 0) * presence; the prompt (token 4) does not count.
        Assert.Equal([1f - 0.25f - 0.5f, 2f, 3f - 0.75f - 0.5f, -1f - 0.25f - 0.5f, 0.5f], penalized);
    }

    [Fact]
    public void The_repetition_penalty_divides_a_seen_positive_logit_and_multiplies_a_negative_one_once_each()
    {
        var sampler = new LogitSampler(5);
        float[] logits = [1f, 2f, 3f, -1f, 0.5f];
        var p = new SamplingParams { Temperature = 1, RepetitionPenalty = 2 };

        // Seen in the prompt (4) or the output (2, 3), however often.
        float[] penalized = sampler.Penalize(logits, p, [4, 4], [2, 3, 2]).ToArray();

        Assert.Equal([1f, 2f, 1.5f, -2f, 0.25f], penalized);

        // The buffers are clean for the next call.
        Assert.Equal(logits, sampler.Penalize(logits, p, [], []).ToArray());
    }

    [Fact]
    public void Temperature_0_is_the_argmax_after_penalties_whatever_the_draw()
    {
        var sampler = new LogitSampler(3);
        float[] logits = [1f, 0.9f, 0f];

        Assert.Equal(0, sampler.Sample(logits, SamplingParams.Greedy, [], [], 0.99));
        Assert.Equal(1, sampler.Sample(logits, new SamplingParams { FrequencyPenalty = 0.1 }, [], [0, 0], 0.5));
    }

    [Fact]
    public void Logprobs_are_the_log_softmax_of_the_raw_logits_with_the_most_likely_first()
    {
        var sampler = new LogitSampler(4);
        var p = new SamplingParams { Temperature = 0.5, TopLogprobs = 2, Logprobs = true, FrequencyPenalty = 2 };

        TokenLogprobs lp = sampler.Logprobs(Known, 2, p)!;

        Assert.Equal(2, lp.Token);
        Assert.Equal(Math.Log(0.15), lp.Logprob, 5);
        Assert.Equal([0L, 1L], lp.Top.Select(t => t.Token));
        Assert.Equal(Math.Log(0.5), lp.Top[0].Logprob, 5);
        Assert.Equal(Math.Log(0.3), lp.Top[1].Logprob, 5);
        Assert.Null(sampler.Logprobs(Known, 2, new SamplingParams { Temperature = 1 }));
    }

    [Fact]
    public void The_same_seed_draws_the_same_tokens_and_another_seed_others()
    {
        var p = new SamplingParams { Temperature = 1 };
        int[] a = Counts(p with { Seed = 5 }, Logits, 200);
        int[] b = Counts(p with { Seed = 5 }, Logits, 200);
        int[] c = Counts(p with { Seed = 6 }, Logits, 200);

        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    [Fact]
    public void Each_value_out_of_range_is_named_in_one_sentence()
    {
        var edges = new SamplingParams { Temperature = 2, TopP = 0.1, TopK = 5, MinP = 1, PresencePenalty = -2, TopLogprobs = 20 };
        Assert.Null(edges.Problem());
        Assert.Equal("temperature must be from 0 to 2, not 2.5.", new SamplingParams { Temperature = 2.5 }.Problem());
        Assert.Equal("top_p must be above 0 and at most 1, not 0.", new SamplingParams { TopP = 0 }.Problem());
        Assert.Equal("top_k must be 0 (all tokens) or more, not -1.", new SamplingParams { TopK = -1 }.Problem());
        Assert.Equal("min_p must be from 0 to 1, not 1.5.", new SamplingParams { MinP = 1.5 }.Problem());
        Assert.Equal("repetition_penalty must be above 0 and at most 2, not 0.", new SamplingParams { RepetitionPenalty = 0 }.Problem());
        Assert.Equal("presence_penalty must be from -2 to 2, not 3.", new SamplingParams { PresencePenalty = 3 }.Problem());
        Assert.Equal("frequency_penalty must be from -2 to 2, not -3.", new SamplingParams { FrequencyPenalty = -3 }.Problem());
        Assert.Equal("top_logprobs must be from 0 to 20, not 21.", new SamplingParams { TopLogprobs = 21 }.Problem());
        HarnessException e = Assert.Throws<HarnessException>(() => new SamplingParams { Temperature = -1 }.Validated());
        Assert.Equal(ExitCodes.BadInput, e.ExitCode);
    }

    [Fact]
    public void Each_sequence_of_a_run_gets_its_own_seed_the_same_in_every_run()
    {
        var p = new SamplingParams { Temperature = 1 };

        Assert.Equal(p.ForSequence(42, 0).Seed, p.ForSequence(42, 0).Seed);
        Assert.NotEqual(p.ForSequence(42, 0).Seed, p.ForSequence(42, 1).Seed);
        Assert.NotEqual(p.ForSequence(42, 0).Seed, p.ForSequence(43, 0).Seed);
    }

    [Fact]
    public void Sampling_settings_read_the_generate_keys_and_refuse_bad_values()
    {
        var settings = new Dictionary<string, string> { ["temperature"] = "0.7", ["top-p"] = "0.9", ["top_logprobs"] = "3" };

        SamplingParams p = SamplingSettings.From(settings);

        Assert.Equal(new SamplingParams { Temperature = 0.7, TopP = 0.9, TopLogprobs = 3, Logprobs = true }, p);
        Assert.True(SamplingSettings.From(new Dictionary<string, string>()).IsPlainGreedy);
        var hot = new Dictionary<string, string> { ["temperature"] = "3" };
        HarnessException e = Assert.Throws<HarnessException>(() => SamplingSettings.From(hot));
        Assert.Equal("--set temperature=3: expected a number from 0 to 2.", e.Message);
    }
}
