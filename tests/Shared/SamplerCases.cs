using Harness.Decoding;
using Harness.Decoding.Sampling;

namespace Harness.Testing;

/// <summary>
/// Rows of different sampling over well-separated logits, step after step: a device sampler must pick
/// the reference's tokens for the same draws, and give its log-probabilities.
/// </summary>
internal static class SamplerCases
{
    public const int Vocab = 64;
    public const int Steps = 40;

    public static SamplingParams[] Rows { get; } =
    [
        new() { Temperature = 0.8, TopK = 10, Seed = 1 },
        new() { Temperature = 1, TopP = 0.9, Seed = 2, Logprobs = true, TopLogprobs = 3 },
        new() { Temperature = 1.2, MinP = 0.05, RepetitionPenalty = 1.37, PresencePenalty = 0.4, FrequencyPenalty = 0.3, Seed = 3 },
        new() { FrequencyPenalty = 1.37, Seed = 4, Logprobs = true },
        new() { Temperature = 2, Seed = 5 },
        new() { Temperature = 0.5, TopK = 5, TopP = 0.8, MinP = 0.1, RepetitionPenalty = 0.77, Seed = 6, TopLogprobs = 2, Logprobs = true },
    ];

    /// <summary>
    /// Distinct logits 0.15 apart, shuffled by <paramref name="step"/>, for every row (the penalties
    /// above keep them apart: no tie to break).
    /// </summary>
    public static float[] Logits(int step)
    {
        var rng = new Random(100 + step);
        var logits = new float[Rows.Length * Vocab];
        for (int r = 0; r < Rows.Length; r++)
        {
            int[] order = [.. Enumerable.Range(0, Vocab).OrderBy(_ => rng.Next())];
            for (int j = 0; j < Vocab; j++)
            {
                logits[(r * Vocab) + j] = (order[j] - (Vocab / 2)) * 0.15f;
            }
        }

        return logits;
    }

    public static DecodeSequence[] Sequences()
    {
        long[] prompt = [3, 5, 7, 3];
        return [.. Rows.Select((p, i) => new DecodeSequence(i, prompt.Length, Steps, prompt, p))];
    }

    /// <summary>
    /// Runs <paramref name="device"/> (logits of all rows, the sequences, next, logprobs) beside the
    /// reference for <see cref="Steps"/> steps; returns how many tokens were not greedy's (the rows really sampled).
    /// </summary>
    public static int Check(Action<float[], DecodeSequence[], long[], TokenLogprobs?[]> device)
    {
        DecodeSequence[] mine = Sequences(), reference = Sequences();
        var sampler = new LogitSampler(Vocab);
        int sampled = 0;
        for (int step = 0; step < Steps; step++)
        {
            float[] logits = Logits(step);
            var next = new long[Rows.Length];
            var logprobs = new TokenLogprobs?[Rows.Length];
            device(logits, mine, next, logprobs);
            for (int r = 0; r < Rows.Length; r++)
            {
                ReadOnlySpan<float> row = logits.AsSpan(r * Vocab, Vocab);
                (long token, TokenLogprobs? lp) = sampler.Sample(row, reference[r]);
                Assert.True(token == next[r], $"row {r} step {step}: the reference drew {token}, the device sampler {next[r]}");
                Assert.Equal(lp is null, logprobs[r] is null);
                if (lp is not null)
                {
                    Assert.Equal(lp.Logprob, logprobs[r]!.Logprob, 4);
                    Assert.Equal(lp.Top.Select(t => t.Token), logprobs[r]!.Top.Select(t => t.Token));
                    Assert.Equal(
                        lp.Top.Select(t => (double)t.Logprob),
                        logprobs[r]!.Top.Select(t => (double)t.Logprob),
                        (a, b) => Math.Abs(a - b) < 1e-4);
                }

                sampled += token != LogitSampler.ArgMax(row) ? 1 : 0;
                mine[r].Emit(next[r]);
                reference[r].Emit(token);
            }
        }

        return sampled;
    }
}
