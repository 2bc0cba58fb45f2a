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

    [Fact]
    public void Kv_cache_bytes_scale_with_batch_and_context()
    {
        DecoderConfig c = ModelCatalog.Load("llama-1b");
        MemoryNeed need = MemoryFit.Estimate(c, 64, 128, 256, TensorDType.BFloat16);
        Assert.Equal(64L * 256 * 2 * 22 * 4 * 64 * 2, need.KvCacheBytes);
    }

    [Fact]
    public void Context_beyond_max_positions_is_refused()
    {
        DecoderConfig c = ModelCatalog.Load("gpt2-124m");
        var e = Assert.Throws<HarnessException>(() => MemoryFit.Check(c, 1, 1000, 1100, TensorDType.Float32, long.MaxValue, "host"));
        Assert.Contains("max_positions (1024)", e.Message);
    }
}
