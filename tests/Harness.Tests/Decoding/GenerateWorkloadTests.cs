using Harness.Backends;
using Harness.Decoding;
using Harness.Engine;
using Harness.Engine.Scenarios;
using Harness.Measurement;
using Harness.Models;
using Harness.Tests.Fakes;

namespace Harness.Tests.Decoding;

/// <summary><c>generate</c> is one workload over the step-level contract: here over the latency model on a fake clock, so every time is exact.</summary>
public class GenerateWorkloadTests
{
    private static readonly LatencyModel Model = new() { TtftMs = 10, TpotMs = 5, PrefillMsPerToken = 0.25, TpotMsPerSequence = 0.5 };

    private static RunSettings Settings(int batch) => new()
    {
        Scenario = ScenarioParser.Parse("single"),
        Batch = batch,
        Warmup = WarmupRule.ForRequests(1),
        Stop = new StopRules(TimeSpan.Zero, 5, TimeSpan.FromMinutes(1)),
    };

    [Fact]
    public void Ttft_and_tpot_are_the_latency_models_exactly_and_the_decoder_metrics_follow()
    {
        var clock = new FakeClock();
        var provider = new LatencyModelProvider(clock);
        var options = new WorkloadOptions { ModelConfig = ModelCatalog.Load("tiny-gpt2-test"), PromptTokens = 16, NewTokens = 8 };
        using var workload = new GenerateWorkload(provider, new BackendSpec("model", "cpu", 0), options) { Memory = _ => new DeviceMemory("test", 1L << 40, null) };
        EngineResult run = new BenchmarkEngine(clock).Run(workload, Settings(batch: 4));

        // A prefill of 4 x 16 tokens: 10 + 0.25 x 64 = 26 ms; a decode step of 4 sequences: 5 + 0.5 x 3 = 6.5 ms.
        Assert.Equal(26_000_000, run.TimeToFirstToken.ToArray().Distinct().Single());
        Assert.Equal(6_500_000, run.TimePerOutputToken.ToArray().Distinct().Single());
        Assert.Equal(6_500_000, run.InterTokenLatency.ToArray().Distinct().Single());
        long requests = run.Count(RequestOutcome.Ok);
        Assert.True(requests >= 5);
        Assert.Equal(requests * 4 * 8, run.OutputUnits);
        Assert.Equal(requests * 4 * 16, run.InputUnits);
        Assert.Equal(4 * 16 / 0.026, run.Derived.Single(m => m.Name == "prefill_tokens_per_s").Value!.Value, 6);
        Assert.Equal(4 / 0.0065, run.Derived.Single(m => m.Name == "decode_tokens_per_s").Value!.Value, 6);

        IReadOnlyDictionary<string, object?> d = run.Workload.Details;
        Assert.Equal(("tiny-gpt2-test", "fp32", 4, 16, 8), ((string)d["model_config"]!, (string)d["dtype"]!, (int)d["batch"]!, (int)d["prompt_tokens"]!, (int)d["new_tokens"]!));
        Assert.Equal(10.0, (double)d["llm_ttft_ms"]!); // the decoder's own facts go into the result too
        Assert.Contains("memory_estimate_bytes", d.Keys);
        // Every request's sequences went back to the decoder, warm-up included.
        Assert.Equal((requests + 2) * 4, provider.Decoder!.Released);
    }

    [Fact]
    public void A_model_that_does_not_fit_is_refused_before_the_decoder_is_built()
    {
        var provider = new LatencyModelProvider(new FakeClock());
        using var workload = new GenerateWorkload(provider, new BackendSpec("model", "cpu", 0), new WorkloadOptions { ModelConfig = ModelCatalog.Load("llama-70b") })
        {
            Memory = _ => new DeviceMemory("a small device", 1L << 30, null),
        };
        var e = Assert.Throws<HarnessException>(() => workload.Prepare(new WorkloadContext(1, 1, 42, default)));
        Assert.Contains("nothing was allocated", e.Message);
        Assert.Null(provider.Decoder);
    }

    [Theory]
    [InlineData(0, 8, "--prompt-tokens must be at least 1")]
    [InlineData(100, 100, "exceed tiny-gpt2-test's max_positions (128)")]
    public void Bad_lengths_are_one_sentence(int prompt, int newTokens, string expected)
    {
        var options = new WorkloadOptions { ModelConfig = ModelCatalog.Load("tiny-gpt2-test"), PromptTokens = prompt, NewTokens = newTokens };
        var e = Assert.Throws<HarnessException>(() => new GenerateWorkload(new LatencyModelProvider(new FakeClock()), new BackendSpec("model", "cpu", 0), options));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void More_than_one_worker_is_refused()
    {
        var options = new WorkloadOptions { ModelConfig = ModelCatalog.Load("tiny-gpt2-test"), PromptTokens = 4, NewTokens = 4 };
        using var workload = new GenerateWorkload(new LatencyModelProvider(new FakeClock()), new BackendSpec("model", "cpu", 0), options);
        Assert.Contains("concurrency 1", Assert.Throws<HarnessException>(() => workload.Prepare(new WorkloadContext(1, 2, 42, default))).Message);
    }

    /// <summary>Decoders that take the latency model's time on a fake clock, counting released sequences.</summary>
    private sealed class LatencyModelProvider(FakeClock clock) : IDecoderProvider
    {
        public CountingDecoder? Decoder { get; private set; }

        public TensorDType DefaultDType(BackendSpec backend) => TensorDType.Float32;

        public SettingsSchema DecoderSettings => SettingsSchema.None;

        public IStepDecoder CreateDecoder(BackendSpec backend, WorkloadOptions options, DecoderSpec spec)
        {
            Decoder = new CountingDecoder(new LatencyModelDecoder(Model, clock, new FakeWaiter(clock), spec.Slots));
            return Decoder;
        }
    }

    private sealed class CountingDecoder(IStepDecoder inner) : IStepDecoder
    {
        public int Released { get; private set; }

        public string Name => inner.Name;

        public int Slots => inner.Slots;

        public bool SupportsJoining => inner.SupportsJoining;

        public IReadOnlyDictionary<string, object?> Details => inner.Details;

        public void Step(IReadOnlyList<DecodeSequence> joining, IReadOnlyList<DecodeSequence> running, CancellationToken cancellationToken) =>
            inner.Step(joining, running, cancellationToken);

        public void Release(DecodeSequence sequence) => Released++;

        public void Dispose() => inner.Dispose();
    }
}
