using Harness.Testing;
using Harness.Torch.Sampling;
using static TorchSharp.torch;

namespace Harness.Torch.Tests.Sampling;

public class TorchSamplerTests
{
    [TorchFact]
    public void Torch_ops_draw_the_reference_samplers_tokens_for_the_same_draws()
    {
        TorchRuntime.Ensure("cpu", null);
        var sampler = new TorchSampler(SamplerCases.Vocab, SamplerCases.Rows.Length);

        int sampled = SamplerCases.Check((logits, sequences, next, logprobs) =>
        {
            using Tensor value = tensor(logits, [sequences.Length, SamplerCases.Vocab], ScalarType.Float32);
            sampler.Sample(value, sequences, next, logprobs);
        });

        Assert.True(sampled > SamplerCases.Steps, $"only {sampled} tokens differ from greedy's: the rows hardly sampled");
    }
}
