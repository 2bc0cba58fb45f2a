using Harness.Models;

namespace Harness.Tests.Models;

public class DecoderCostTests
{
    [Fact]
    public void Gpt2_124m_has_124_million_parameters()
    {
        var cost = new DecoderCost(ModelCatalog.Load("gpt2-124m"));
        // The published count of GPT-2 small (tied LM head): 124,439,808.
        Assert.Equal(124_439_808, cost.ParameterCount);
        Assert.Equal(124_439_808 - 50257L * 768 - 1024L * 768, cost.NonEmbeddingParams);
    }

    [Fact]
    public void Llama_1b_has_1_1_billion_parameters()
    {
        var cost = new DecoderCost(ModelCatalog.Load("llama-1b"));
        // TinyLlama-1.1B: 1,100,048,384 parameters.
        Assert.Equal(1_100_048_384, cost.ParameterCount);
    }

    [Theory]
    [InlineData("qwen2.5-0.5b", 494_032_768)]
    [InlineData("llama-8b", 8_030_261_248)]
    [InlineData("llama-70b", 70_553_706_496)]
    public void Other_shapes_match_their_published_counts(string name, long expected)
    {
        Assert.Equal(expected, new DecoderCost(ModelCatalog.Load(name)).ParameterCount);
    }

    [Fact]
    public void Flops_per_token_is_twice_the_matmul_weights_plus_attention()
    {
        DecoderConfig c = ModelCatalog.Load("llama-1b");
        var cost = new DecoderCost(c);
        long perLayer = 2048L * (32 + 2 * 4) * 64 + 2048L * 2048 + 3L * 2048 * 5632;
        Assert.Equal(22 * perLayer + 2048L * 32000, cost.MatmulParams);
        Assert.Equal(2.0 * cost.MatmulParams + 4.0 * 22 * 2048 * 200, cost.FlopsPerToken(200));
    }

    [Fact]
    public void Kv_bytes_per_token_counts_k_and_v_of_every_layer()
    {
        var cost = new DecoderCost(ModelCatalog.Load("llama-1b"));
        Assert.Equal(2L * 22 * 4 * 64 * 2, cost.KvBytesPerToken(TensorDType.BFloat16));
        Assert.Equal(2L * 22 * 4 * 64 * 4, cost.KvBytesPerToken(TensorDType.Float32));
    }

    [Fact]
    public void Bytes_per_decode_step_are_weights_plus_kv_read_plus_kv_written()
    {
        var cost = new DecoderCost(ModelCatalog.Load("gpt2-124m"));
        long kv = cost.KvBytesPerToken(TensorDType.Float16);
        // Tied embedding: streamed once as the LM head; the position table is only gathered.
        long streamed = cost.ParameterCount - 1024L * 768;
        Assert.Equal(streamed, cost.StreamedParams);
        Assert.Equal(streamed * 2.0 + 16 * 192.0 * kv + 16.0 * kv, cost.BytesPerDecodeStep(16, 192, TensorDType.Float16, TensorDType.Float16));
    }

    [Fact]
    public void Prefill_flops_count_the_lm_head_once()
    {
        var cost = new DecoderCost(ModelCatalog.Load("gpt2-124m"));
        double p = 128;
        Assert.Equal(2.0 * cost.LayerMatmulParams * p + 4.0 * 12 * 768 * (p * (p + 1) / 2) + 2.0 * cost.LmHeadParams, cost.PrefillFlops(128));
    }
}
