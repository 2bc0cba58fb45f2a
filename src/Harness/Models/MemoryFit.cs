using System.Globalization;
using Harness.Backends;

namespace Harness.Models;

/// <summary>What a decoder run needs in device memory, checked before anything is allocated.</summary>
public sealed record MemoryNeed(long WeightBytes, long KvCacheBytes, long ActivationBytes, long OverheadBytes)
{
    public long Total => WeightBytes + KvCacheBytes + ActivationBytes + OverheadBytes;
}

public static class MemoryFit
{
    /// <summary>Fixed allowance for runtime workspaces (allocator arenas, GEMM scratch, CUDA context).</summary>
    public const long OverheadBytes = 512L << 20;

    /// <param name="quant">
    /// Weight-only quantization of the matrix products: the weights then count at its bytes per weight (bits, scales
    /// in <paramref name="dtype"/>, zero points: HardwareSpec.QuantizedBytesPerElement), the embedding tables at the dtype's.
    /// </param>
    public static MemoryNeed Estimate(
        DecoderConfig c, int batch, int promptTokens, int maxContext, TensorDType dtype, WeightQuantization? quant = null)
    {
        var cost = new DecoderCost(c);
        long weights = cost.WeightBytes(dtype, quant);
        // Every expert is resident, whichever a step touches; a sliding-window layer keeps only its window.
        long kv = (long)(batch * cost.KvCacheBytes(maxContext, dtype.Bytes()));
        long widest = Math.Max(Math.Max(c.Hidden, c.QkvWidth), 2L * c.Intermediate);
        // Prefill is the peak: a few activations of the widest layer, one head-group's attention
        // scores (prompt x context per head), and the last position's logits in fp32.
        long activations = (long)batch * promptTokens * widest * dtype.Bytes() * 4
            + (long)batch * c.Heads * promptTokens * maxContext * 4
            + (long)batch * c.Vocab * 4 * 2;
        return new MemoryNeed(weights, kv, activations, OverheadBytes);
    }

    /// <summary>
    /// Throws (exit 2) when the shape has parts the decoders do not build (experts, sliding windows),
    /// or when the weights, the KV cache of batch x context and the activations do not fit in
    /// <paramref name="availableBytes"/> of <paramref name="deviceName"/>.
    /// </summary>
    public static MemoryNeed Check(
        DecoderConfig c, int batch, int promptTokens, int maxContext, TensorDType dtype, long availableBytes, string deviceName,
        WeightQuantization? quant = null)
    {
        if (c.UnbuiltFeature is { } feature)
        {
            throw HarnessException.BadInput($"{c.Name} has {feature}, which the harness's decoders do not build: it is a planning shape for 'harness project --model {c.Name}' and 'harness plan --model {c.Name}'; nothing was allocated.");
        }

        if (maxContext > c.MaxPositions)
        {
            throw HarnessException.BadInput($"Prompt plus new tokens ({maxContext}) exceed {c.Name}'s max_positions ({c.MaxPositions}).");
        }

        MemoryNeed need = Estimate(c, batch, promptTokens, maxContext, dtype, quant);
        if (need.Total > availableBytes)
        {
            throw HarnessException.BadInput(
                $"{c.Name} at batch {batch}, context {maxContext}, {quant?.Name ?? dtype.ShortName()} needs about {Gib(need.Total)} " +
                $"(weights {Gib(need.WeightBytes)}, KV cache {Gib(need.KvCacheBytes)}, activations {Gib(need.ActivationBytes)}) " +
                $"but {deviceName} has {Gib(availableBytes)} available; nothing was allocated. Use a smaller model, batch or context, or a larger device.");
        }

        return need;
    }

    /// <summary>Memory the OS can still give this process: MemAvailable from /proc/meminfo.</summary>
    public static long HostAvailableBytes()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/meminfo"))
            {
                if (line.StartsWith("MemAvailable:", StringComparison.Ordinal))
                {
                    string kb = line["MemAvailable:".Length..].Trim().Split(' ')[0];
                    return long.Parse(kb, CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
    }

    public static string Gib(long bytes) => (bytes / (double)(1L << 30)).ToString("0.0", CultureInfo.InvariantCulture) + " GiB";
}
