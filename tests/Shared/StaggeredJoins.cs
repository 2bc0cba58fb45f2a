using Harness.Backends;
using Harness.Decoding;
using Harness.Models;

namespace Harness.Testing;

/// <summary>
/// Sequences that join a step-level decoder while others decode and leave at different steps,
/// with gaps in the slots in use (a free slot below a running one), checked token by token against
/// the plain reference decoder: what continuous batching must not change.
/// </summary>
internal static class StaggeredJoins
{
    /// <summary>When each sequence joins, its slot, prompt length and new tokens.</summary>
    public static readonly (int Step, int Slot, int Prompt, int NewTokens)[] Schedule =
    [
        (0, 0, 5, 7),   // steps 0-6
        (1, 1, 3, 4),   // steps 1-4
        (2, 2, 6, 5),   // steps 2-6
        (5, 1, 4, 6),   // steps 5-10, slot 1 again; alone with slot 0 free from step 7
        (8, 2, 2, 3),   // steps 8-10, above the free slot 0
    ];

    public const int Slots = 3;

    /// <summary>Runs the schedule; returns each sequence's prompt and generated tokens.</summary>
    public static (long[] Prompt, long[] Tokens)[] Run(IStepDecoder decoder, int vocab, int seed = 3, (int Step, int Slot, int Prompt, int NewTokens)[]? schedule = null)
    {
        var Schedule = schedule ?? StaggeredJoins.Schedule;
        var prompts = Schedule.Select((s, i) =>
        {
            var ids = new long[s.Prompt];
            GenerateSettings.FillPrompt(ids, seed + i, vocab);
            return ids;
        }).ToArray();
        var sequences = new DecodeSequence?[Schedule.Length];
        var tokens = Schedule.Select(s => new List<long>()).ToArray();
        for (int step = 0; sequences.Any(s => s is null || !s.Done); step++)
        {
            var joining = new List<DecodeSequence>();
            var running = new List<DecodeSequence>();
            for (int i = 0; i < Schedule.Length; i++)
            {
                if (Schedule[i].Step == step)
                {
                    sequences[i] = new DecodeSequence(Schedule[i].Slot, Schedule[i].Prompt, Schedule[i].NewTokens, prompts[i]);
                    joining.Add(sequences[i]!);
                }
                else if (sequences[i] is { Done: false } s)
                {
                    running.Add(s);
                }
            }

            decoder.Step(joining, running, CancellationToken.None);
            for (int i = 0; i < Schedule.Length; i++)
            {
                if (sequences[i] is { } s && (joining.Contains(s) || running.Contains(s)))
                {
                    tokens[i].Add(s.LastToken);
                    if (s.Done)
                    {
                        decoder.Release(s);
                    }
                }
            }
        }

        return prompts.Select((p, i) => (p, tokens[i].ToArray())).ToArray();
    }

    /// <summary>Every sequence's tokens are the reference decoder's greedy tokens for its prompt alone.</summary>
    public static void AssertMatchesReference(DecoderConfig config, int weightSeed, (long[] Prompt, long[] Tokens)[] result, (int Step, int Slot, int Prompt, int NewTokens)[]? schedule = null)
    {
        var Schedule = schedule ?? StaggeredJoins.Schedule;
        var reference = new ReferenceDecoder(config, weightSeed);
        for (int i = 0; i < result.Length; i++)
        {
            long[] expected = reference.Generate(result[i].Prompt, Schedule[i].NewTokens);
            Assert.True(expected.SequenceEqual(result[i].Tokens), $"sequence {i} (joined at step {Schedule[i].Step}, slot {Schedule[i].Slot}): expected [{string.Join(",", expected)}], got [{string.Join(",", result[i].Tokens)}]");
        }
    }
}
