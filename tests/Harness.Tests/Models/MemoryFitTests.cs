using Harness.Backends;
using Harness.Models;

namespace Harness.Tests.Models;

public class MemoryFitTests
{
    private const long H100 = 80L * 1000 * 1000 * 1000;

    [Fact]
    public void Llama_70b_is_refused_on_one_H100_before_allocating()
    {
        DecoderConfig c = ModelCatalog.Load("llama-70b");
        var e = Assert.Throws<HarnessException>(() => MemoryFit.Check(c, 1, 128, 256, TensorDType.BFloat16, H100, "GPU 0 (NVIDIA H100 80GB HBM3)"));
        Assert.Equal(ExitCodes.BadInput, e.ExitCode);
        Assert.Contains("llama-70b", e.Message);
        Assert.Contains("nothing was allocated", e.Message);
        Assert.Contains("weights 131.4 GiB", e.Message);
    }

    [Fact]
    public void Llama_8b_fits_an_H100_in_bf16_but_a_huge_batch_does_not()
    {
        DecoderConfig c = ModelCatalog.Load("llama-8b");
        MemoryNeed need = MemoryFit.Check(c, 16, 128, 256, TensorDType.BFloat16, H100, "GPU 0");
        Assert.Equal(8_030_261_248L * 2, need.WeightBytes);
        Assert.Throws<HarnessException>(() => MemoryFit.Check(c, 4096, 2048, 4096, TensorDType.BFloat16, H100, "GPU 0"));
    }

    /// <summary>
    /// A quantized run's weights count at the quantization's bytes (llama-1b int4, block 32, fp32 scales: 5 bits a
    /// matrix weight, the embedding in fp32), so a host that holds them is not refused for the fp32 weights it never loads.
    /// </summary>
    [Fact]
    public void Quantized_weights_count_at_their_own_bytes()
    {
        DecoderConfig c = ModelCatalog.Load("llama-1b");
        var int4 = new WeightQuantization(4, 32, false, 4);
        MemoryNeed fp32 = MemoryFit.Estimate(c, 1, 64, 96, TensorDType.Float32);
        MemoryNeed quant = MemoryFit.Estimate(c, 1, 64, 96, TensorDType.Float32, int4);
        var cost = new DecoderCost(c);
        long embedding = (long)c.Vocab * c.Hidden;
        long matrices = cost.ParameterCount - embedding + (c.TieEmbeddings ? (long)c.Vocab * c.Hidden : 0);
        Assert.Equal((embedding * 4) + (long)Math.Ceiling(matrices * 5 / 8.0), quant.WeightBytes);
        Assert.Equal(fp32.KvCacheBytes, quant.KvCacheBytes); // the cache stays in the run's float type
        long between = (quant.Total + fp32.Total) / 2;
        Assert.Equal(quant.Total, MemoryFit.Check(c, 1, 64, 96, TensorDType.Float32, between, "host", int4).Total);
        var e = Assert.Throws<HarnessException>(() => MemoryFit.Check(c, 1, 64, 96, TensorDType.Float32, between, "host"));
        Assert.Contains("fp32 needs", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<HarnessException>(() => MemoryFit.Check(c, 1, 64, 96, TensorDType.Float32, quant.Total - 1, "host", int4));
        Assert.Contains("int4 needs", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Kv_cache_bytes_scale_with_batch_and_context()
    {
        DecoderConfig c = ModelCatalog.Load("llama-1b");
        MemoryNeed need = MemoryFit.Estimate(c, 64, 128, 256, TensorDType.BFloat16);
        Assert.Equal(64L * 256 * 2 * 22 * 4 * 64 * 2, need.KvCacheBytes);
    }

    [Fact]
    public void A_mixture_of_experts_shape_is_refused_by_the_decoders_before_allocating()
    {
        // gpt-oss-20b in bf16 (about 42 GB) would fit an H200, but the decoders build dense MLPs.
        DecoderConfig c = ModelCatalog.Load("gpt-oss-20b");
        var e = Assert.Throws<HarnessException>(() => MemoryFit.Check(c, 1, 128, 256, TensorDType.BFloat16, long.MaxValue, "GPU 0"));
        Assert.Contains("mixture of experts", e.Message);
        Assert.Contains("nothing was allocated", e.Message);
    }

    [Fact]
    public void A_sliding_window_layer_keeps_only_its_window_in_the_kv_cache()
    {
        // gpt-oss-20b at 1024 tokens: 12 full layers x 1024 + 12 sliding x 128 = 13,824 token-layers of 2 x 8 x 64 x 2 B (bf16).
        MemoryNeed need = MemoryFit.Estimate(ModelCatalog.Load("gpt-oss-20b"), 2, 512, 1024, TensorDType.BFloat16);
        Assert.Equal(2L * 13_824 * 2 * 8 * 64 * 2, need.KvCacheBytes);
    }

    [Fact]
    public void Context_beyond_max_positions_is_refused()
    {
        DecoderConfig c = ModelCatalog.Load("gpt2-124m");
        var e = Assert.Throws<HarnessException>(() => MemoryFit.Check(c, 1, 1000, 1100, TensorDType.Float32, long.MaxValue, "host"));
        Assert.Contains("max_positions (1024)", e.Message);
    }
}
