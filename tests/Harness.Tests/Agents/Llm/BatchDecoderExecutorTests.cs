using Harness.Agents.Llm;

namespace Harness.Tests.Agents.Llm;

public class BatchDecoderExecutorTests
{
    [Fact]
    public void Shapes_are_rounded_and_decoders_reused()
    {
        var factory = new FakeDecoderFactory();
        using var llm = new BatchDecoderExecutor(factory);
        Assert.False(llm.SupportsJoining);
        Step(llm, sequences: 3, prompt: 100, decode: 10);
        Step(llm, sequences: 4, prompt: 120, decode: 60); // same bucket: batch 4, prompt 128, context 128 + 64
        Step(llm, sequences: 5, prompt: 100, decode: 10); // batch 8: a new decoder
        Assert.Equal(2, llm.DecodersBuilt);
        Assert.Equal([(4, 128, 192), (8, 128, 192)], factory.Created.Select(d => (d.Batch, d.PromptTokens, d.MaxContext)));
        Assert.Equal((2, 9 + 59), (factory.Created[0].Prefills, factory.Created[0].Steps));
    }

    [Fact]
    public void Lengths_stay_within_the_model()
    {
        var factory = new FakeDecoderFactory { MaxPositions = 256 };
        using var llm = new BatchDecoderExecutor(factory);
        Step(llm, 1, prompt: 1000, decode: 100);
        Assert.Equal((255, 256), (factory.Created[0].PromptTokens, factory.Created[0].MaxContext));
    }

    [Fact]
    public void Evicted_decoders_are_disposed()
    {
        var factory = new FakeDecoderFactory();
        var llm = new BatchDecoderExecutor(factory);
        for (int i = 1; i <= 5; i++)
        {
            Step(llm, 1, prompt: 64 * i, decode: 1);
        }

        Assert.True(factory.Created[0].Disposed);
        Assert.False(factory.Created[4].Disposed);
        llm.Dispose();
        Assert.All(factory.Created, d => Assert.True(d.Disposed));
    }

    private static void Step(BatchDecoderExecutor llm, int sequences, int prompt, int decode)
    {
        var seqs = Enumerable.Range(0, sequences).Select(a => new LlmSequence { Agent = a, PrefillTokens = prompt, ContextTokens = prompt, DecodeTokens = decode, SubmitTimestamp = 0 }).ToList();
        llm.Iterate(seqs, [], CancellationToken.None);
        for (int k = 1; k < decode; k++)
        {
            llm.Iterate([], seqs, CancellationToken.None);
        }
    }

    private sealed class FakeDecoderFactory : IBatchDecoderFactory
    {
        public List<FakeDecoder> Created { get; } = [];

        public string Name => "fake";

        public int MaxBatch => 64;

        public int MaxPositions { get; init; } = 2048;

        public IReadOnlyDictionary<string, object?> Details { get; } = new Dictionary<string, object?>();

        public IBatchDecoder Create(int batch, int promptTokens, int maxContext)
        {
            var d = new FakeDecoder(batch, promptTokens, maxContext);
            Created.Add(d);
            return d;
        }

        public void Dispose()
        {
        }
    }

    private sealed class FakeDecoder(int batch, int prompt, int context) : IBatchDecoder
    {
        public int Batch => batch;

        public int PromptTokens => prompt;

        public int MaxContext => context;

        public int Prefills { get; private set; }

        public int Steps { get; private set; }

        public bool Disposed { get; private set; }

        public void Prefill() => Prefills++;

        public void Step() => Steps++;

        public void Dispose() => Disposed = true;
    }
}
