using System.Diagnostics;
using Harness.Decoding;
using Microsoft.ML.OnnxRuntimeGenAI;

namespace Harness.GenAI.Bench;

/// <summary>The two greedy loops side by side: each returns its decode seconds (newTokens - 1 steps) and every row's tokens.</summary>
internal static class Loops
{
    // The harness's loop: one prefill of the batch, then newTokens - 1 decode steps (timed).
    public static (double Seconds, long[][] Tokens) Harness(
        IStepDecoder decoder, int batch, long[] prompt, int promptTokens, int newTokens)
    {
        var sequences = Enumerable.Range(0, batch)
            .Select(b => new DecodeSequence(b, promptTokens, newTokens, prompt.AsMemory(b * promptTokens, promptTokens))).ToArray();
        var tokens = Enumerable.Range(0, batch).Select(_ => new long[newTokens]).ToArray();
        decoder.Step(sequences, [], CancellationToken.None);
        Collect(sequences, tokens, 0);
        var sw = Stopwatch.StartNew();
        for (int i = 1; i < newTokens; i++)
        {
            decoder.Step([], sequences, CancellationToken.None);
            Collect(sequences, tokens, i);
        }

        double seconds = sw.Elapsed.TotalSeconds;
        foreach (DecodeSequence s in sequences)
        {
            decoder.Release(s);
        }

        return (seconds, tokens);
    }

    private static void Collect(DecodeSequence[] sequences, long[][] tokens, int step)
    {
        for (int b = 0; b < sequences.Length; b++)
        {
            tokens[b][step] = sequences[b].LastToken;
        }
    }

    // GenAI's loop: AppendTokens runs the prompts; the first GenerateNextToken takes its token from their logits, each later one
    // runs a decode step first (timed: newTokens - 1 of them, as the harness's).
    public static (double Seconds, long[][] Tokens) GenAi(Model model, int batch, long[] prompt, int promptTokens, int newTokens)
    {
        using var parameters = new GeneratorParams(model);
        parameters.SetSearchOption("max_length", promptTokens + newTokens);
        parameters.SetSearchOption("batch_size", batch);
        using var generator = new Generator(model, parameters);
        generator.AppendTokens(prompt.Select(t => (int)t).ToArray());
        generator.GenerateNextToken();
        var sw = Stopwatch.StartNew();
        for (int i = 1; i < newTokens; i++)
        {
            generator.GenerateNextToken();
        }

        double seconds = sw.Elapsed.TotalSeconds;
        var tokens = new long[batch][];
        for (int b = 0; b < batch; b++)
        {
            ReadOnlySpan<int> sequence = generator.GetSequence((ulong)b);
            tokens[b] = sequence[promptTokens..].ToArray().Select(t => (long)t).ToArray();
        }

        return (seconds, tokens);
    }
}
