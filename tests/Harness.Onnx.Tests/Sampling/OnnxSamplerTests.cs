using Harness.Backends;
using Harness.Onnx.Sampling;
using Harness.Testing;
using Microsoft.ML.OnnxRuntime;

namespace Harness.Onnx.Tests.Sampling;

public class OnnxSamplerTests
{
    [Fact]
    public void The_sampler_graph_draws_the_reference_samplers_tokens_for_the_same_draws()
    {
        using var sampler = new OnnxSampler(
            SamplerCases.Vocab, SamplerCases.Rows.Length, BackendSpec.Parse("onnx:cpu"), new WorkloadOptions { Threads = 1 });

        int sampled = SamplerCases.Check((logits, sequences, next, logprobs) =>
        {
            using OrtValue value = OrtValue.CreateTensorValueFromMemory(logits, [sequences.Length, SamplerCases.Vocab]);
            sampler.Sample(value, sequences, next, logprobs);
        });

        Assert.True(sampled > SamplerCases.Steps, $"only {sampled} tokens differ from greedy's: the rows hardly sampled");
    }
}
