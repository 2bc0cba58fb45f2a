using Harness.Backends;
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

    [Fact]
    public void Dense_70b_flops_and_bytes_per_token_match_the_hand_calculation()
    {
        // Llama-70B: hidden 8192, MLP 28672, 80 layers, 64 heads and 8 KV heads of 128, vocab 128256, untied.
        //   q|k|v 8192 x (64 + 2 x 8) x 128 = 83,886,080; out 8192 x 8192 = 67,108,864; MLP 3 x 8192 x 28672 = 704,643,072
        //   per layer 855,638,016; x 80 = 68,451,041,280; LM head 8192 x 128256 = 1,050,673,152; matmul weights 69,501,714,432
        //   FLOPs per token at 1024 keys: 2 x 69,501,714,432 + 4 x 80 x 64 x 128 x 1024 = 139,003,428,864 + 2,684,354,560 = 141,687,783,424
        //   streamed weights: 70,553,706,496 - 1,050,673,152 (token embedding, gathered) = 69,503,033,344 (norms included)
        //   fp8 KV per token: 2 x 80 x 8 x 128 x 1 B = 163,840
        //   decode step, batch 64 at 1024 keys, fp8 weights and KV: 69,503,033,344 + 64 x 1024 x 163,840 (read) + 64 x 163,840 (written)
        //     = 69,503,033,344 + 10,737,418,240 + 10,485,760 = 80,250,937,344
        var cost = new DecoderCost(ModelCatalog.Load("llama-70b"));
        Assert.Equal(69_501_714_432, cost.MatmulParams);
        Assert.Equal(141_687_783_424, cost.FlopsPerToken(1024));
        Assert.Equal(69_503_033_344, cost.StreamedParams);
        Assert.Equal(163_840, cost.KvCacheBytes(1, 1));
        Assert.Equal(80_250_937_344, cost.DecodeStepBytes(64, 1024, 1, 1));
    }

    [Fact]
    public void Moe_flops_count_the_active_experts_and_memory_counts_them_all()
    {
        // gpt-oss-120b: hidden 2880, 36 layers, 64 heads and 8 KV heads of 64, 128 experts of width 2880, 4 per token,
        // vocab 201088 untied, q|k|v bias, sliding window 128 on 18 layers.
        //   attention: q|k|v 2880 x (64 + 16) x 64 = 14,745,600 (+ 5,120 bias); out 4096 x 2880 = 11,796,480; matmuls 26,542,080
        //   one expert 3 x 2880 x 2880 = 24,883,200; router 2880 x 128 = 368,640; norms 2 x 2880
        //   per layer: 5,760 + 14,745,600 + 5,120 + 11,796,480 + 128 x 24,883,200 + 368,640 = 3,211,971,200
        //   all: 36 x 3,211,971,200 + 2 x 201088 x 2880 (embedding, LM head) + 2880 (final norm) = 116,789,232,960 (published: 116.83B; biases of experts not modelled)
        //   active matmul weights: 36 x (26,542,080 + 4 x 24,883,200 + 368,640) + 2880 x 201088 = 4,551,966,720 + 579,133,440 = 5,131,100,160 (published: 5.1B active)
        //   attended keys at 1024: 18 full layers x 1024 + 18 sliding x 128 = 20,736
        //   FLOPs per token: 2 x 5,131,100,160 + 4 x 64 x 64 x 20,736 = 10,262,200,320 + 339,738,624 = 10,601,938,944
        var config = ModelCatalog.Load("gpt-oss-120b");
        var cost = new DecoderCost(config);
        Assert.Equal(116_789_232_960, cost.ParameterCount);
        Assert.Equal(5_131_100_160, cost.MatmulParams);
        Assert.Equal(10_601_938_944, cost.FlopsPerToken(1024));
        // Memory fit holds every expert: 116,789,232,960 x 2 B in bf16.
        Assert.Equal(116_789_232_960L * 2, MemoryFit.Estimate(config, 1, 1, 1, TensorDType.BFloat16).WeightBytes);
    }

    [Fact]
    public void Moe_bytes_per_step_read_the_experts_the_batch_touches()
    {
        // gpt-oss-120b, E = 128, k = 4: distinct experts per layer = 128 x (1 - (1 - 4/128)^batch)
        //   batch 1: 128 x (1 - 0.96875) = 4; batch 64: 128 x (1 - 0.96875^64) = 111.22; batch 4096: 128.00
        //   streamed at batch 1: all streamed 116,210,099,520 - routed 36 x 128 x 24,883,200 (114,661,785,600) + 36 x 4 x 24,883,200 = 5,131,494,720
        //   KV read per sequence at 1024 keys, fp8: 2 x 8 x 64 x 1 B x 20,736 = 21,233,664; written: 2 x 8 x 64 x 36 = 36,864
        //   decode step, batch 1, fp4 weights (0.5625 B, NVFP4 with scales) and fp8 KV: 5,131,494,720 x 0.5625 + 21,233,664 + 36,864 = 2,907,736,308
        var cost = new DecoderCost(ModelCatalog.Load("gpt-oss-120b"));
        Assert.Equal(4, cost.ExpectedExpertsTouched(1), 9);
        Assert.Equal(111.2212, cost.ExpectedExpertsTouched(64), 3);
        Assert.Equal(128, cost.ExpectedExpertsTouched(4096), 6);
        Assert.Equal(5_131_494_720, cost.StreamedParamsAt(1), 3);
        Assert.Equal(2_907_736_308, cost.DecodeStepBytes(1, 1024, 0.5625, 1), 3);
        Assert.Equal(cost.StreamedParams, cost.StreamedParamsAt(1e6), 0);
    }

    [Fact]
    public void Gpt_oss_20b_matches_its_published_size()
    {
        // 24 layers x (5,760 + 14,745,600 + 5,120 + 11,796,480 + 32 x 24,883,200 + 92,160) + 2 x 201088 x 2880 + 2880
        //   = 24 x 822,907,520 + 1,158,266,880 + 2,880 = 20,908,050,240 (published 20.9B); active 3,607,142,400 (published 3.6B)
        var cost = new DecoderCost(ModelCatalog.Load("gpt-oss-20b"));
        Assert.Equal(20_908_050_240, cost.ParameterCount);
        Assert.Equal(3_607_142_400, cost.MatmulParams);
    }
}
