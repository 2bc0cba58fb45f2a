using Harness.Backends;
using Harness.Decoding;
using Harness.Models;

namespace Harness.Tests.Decoding;

/// <summary>The adapter that serves a backend's fixed-shape runners as a step-level decoder.</summary>
public class FixedShapeDecoderTests
{
    private static readonly DeviceMemory Plenty = new("test", long.MaxValue, null);

    private static FixedShapeDecoder Decoder(FakeRunnerFactory factory, DecoderShapes shapes, int slots = 64, string model = "tiny-gpt2-test") =>
        new(factory, new DecoderSpec { Model = ModelCatalog.Load(model), DType = TensorDType.Float32, Slots = slots, Shapes = shapes }, Plenty);

    [Fact]
    public void Rounded_shapes_are_reused()
    {
        var factory = new FakeRunnerFactory();
        using FixedShapeDecoder llm = Decoder(factory, DecoderShapes.Rounded);
        Assert.False(llm.SupportsJoining);
        Step(llm, sequences: 3, prompt: 30, decode: 10);
        Step(llm, sequences: 4, prompt: 50, decode: 60); // same bucket: batch 4, prompt 64, context 64 + 64
        Step(llm, sequences: 5, prompt: 30, decode: 10); // batch 8: a new runner
        Assert.Equal(2, llm.RunnersBuilt);
        Assert.Equal([(4, 64, 128), (8, 64, 128)], factory.Created.Select(d => (d.Batch, d.PromptTokens, d.MaxContext)));
        Assert.Equal((2, 9 + 59), (factory.Created[0].Prefills, factory.Created[0].Steps));
        Assert.Contains("llm_long_steps", llm.Details.Keys);
        Assert.Contains("static batching", (string)llm.Details["step_decoder"]!);
    }

    [Fact]
    public void Lengths_stay_within_the_model_and_long_steps_rewind()
    {
        var factory = new FakeRunnerFactory();
        using FixedShapeDecoder llm = Decoder(factory, DecoderShapes.Rounded); // max positions 128
        Step(llm, 1, prompt: 1000, decode: 100);
        Assert.Equal((127, 128), (factory.Created[0].PromptTokens, factory.Created[0].MaxContext));
        Assert.Equal(1 + 99, factory.Created[0].Prefills + factory.Created[0].Steps);
        Assert.True(factory.Created[0].Rewinds > 0);
    }

    [Fact]
    public void Exact_shapes_carry_the_prompt_ids_and_the_tokens_of_each_row()
    {
        var factory = new FakeRunnerFactory();
        using FixedShapeDecoder llm = Decoder(factory, DecoderShapes.Exact, slots: 2);
        var a = new DecodeSequence(0, 3, 2, new long[] { 5, 6, 7 });
        var b = new DecodeSequence(1, 3, 2, new long[] { 8, 9, 10 });
        llm.Step([a, b], [], CancellationToken.None);
        FakeRunner r = factory.Created.Single();
        Assert.Equal((2, 3, 5), (r.Batch, r.PromptTokens, r.MaxContext));
        Assert.Equal([5, 6, 7, 8, 9, 10], r.LastPrompt);
        Assert.Equal((7 + 1, 10 + 1), (a.LastToken, b.LastToken)); // the fake's next token: last prompt id + 1
        llm.Step([], [b, a], CancellationToken.None);
        Assert.Equal((9, 12), (a.LastToken, b.LastToken));
        Assert.True(a.Done && b.Done);
    }

    [Fact]
    public void Prompts_shorter_than_the_shape_are_left_padded_and_unknown_ones_seeded()
    {
        var factory = new FakeRunnerFactory();
        using FixedShapeDecoder llm = Decoder(factory, DecoderShapes.Exact, slots: 2);
        var shortOne = new DecodeSequence(0, 2, 1, new long[] { 1, 2 });
        var seeded = new DecodeSequence(1, 4, 1);
        llm.Step([shortOne, seeded], [], CancellationToken.None);
        long[] prompt = factory.Created.Single().LastPrompt;
        Assert.Equal([1L, 2L], prompt[2..4]);
        Assert.All(prompt, id => Assert.InRange(id, 0, 255));
        Assert.Equal(3, shortOne.LastToken);
    }

    [Fact]
    public void Joining_a_running_batch_is_refused()
    {
        using FixedShapeDecoder llm = Decoder(new FakeRunnerFactory(), DecoderShapes.Exact);
        var a = new DecodeSequence(0, 4, 3);
        llm.Step([a], [], CancellationToken.None);
        Assert.Throws<InvalidOperationException>(() => llm.Step([new DecodeSequence(1, 4, 3)], [a], CancellationToken.None));
    }

    [Fact]
    public void Evicted_runners_are_disposed()
    {
        var factory = new FakeRunnerFactory();
        var llm = Decoder(factory, DecoderShapes.Exact);
        for (int i = 1; i <= 5; i++)
        {
            Step(llm, 1, prompt: 8 * i, decode: 1);
        }

        Assert.True(factory.Created[0].Disposed);
        Assert.False(factory.Created[4].Disposed);
        llm.Dispose();
        Assert.All(factory.Created, d => Assert.True(d.Disposed));
        Assert.True(factory.Disposed);
    }

    private static void Step(IStepDecoder llm, int sequences, int prompt, int decode)
    {
        var seqs = Enumerable.Range(0, sequences).Select(s => new DecodeSequence(s, prompt, decode)).ToList();
        llm.Step(seqs, [], CancellationToken.None);
        for (int k = 1; k < decode; k++)
        {
            llm.Step([], seqs, CancellationToken.None);
        }

        Assert.All(seqs, s => Assert.Equal(decode, s.Produced));
        seqs.ForEach(llm.Release);
    }

    private sealed class FakeRunnerFactory : IBatchRunnerFactory
    {
        public List<FakeRunner> Created { get; } = [];

        public bool Disposed { get; private set; }

        public string Name => "fake";

        public IReadOnlyDictionary<string, object?> Details { get; } = new Dictionary<string, object?> { ["fake"] = true };

        public IBatchRunner Create(int batch, int promptTokens, int maxContext)
        {
            var d = new FakeRunner(batch, promptTokens, maxContext);
            Created.Add(d);
            return d;
        }

        public void Dispose() => Disposed = true;
    }

    /// <summary>Each row's next token is its last token + 1.</summary>
    private sealed class FakeRunner(int batch, int prompt, int context) : IBatchRunner
    {
        private readonly long[] _next = new long[batch];

        public int Batch => batch;

        public int PromptTokens => prompt;

        public int MaxContext => context;

        public int Position { get; private set; }

        public ReadOnlySpan<long> NextTokens => _next;

        public long[] LastPrompt { get; private set; } = [];

        public int Prefills { get; private set; }

        public int Steps { get; private set; }

        public int Rewinds { get; private set; }

        public bool Disposed { get; private set; }

        public void Prefill(ReadOnlySpan<long> ids)
        {
            Assert.Equal(batch * prompt, ids.Length);
            LastPrompt = ids.ToArray();
            for (int b = 0; b < batch; b++)
            {
                _next[b] = ids[((b + 1) * prompt) - 1] + 1;
            }

            Position = prompt;
            Prefills++;
        }

        public void Step()
        {
            Assert.True(Position < context, "stepped past the cache");
            for (int b = 0; b < batch; b++)
            {
                _next[b]++;
            }

            Position++;
            Steps++;
        }

        public void Rewind(int position)
        {
            Position = position;
            Rewinds++;
        }

        public void Dispose() => Disposed = true;
    }
}
