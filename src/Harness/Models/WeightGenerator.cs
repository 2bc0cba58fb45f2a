using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text;

namespace Harness.Models;

/// <summary>
/// Deterministic weights from a seed, as vLLM's dummy load format does: the same (seed, tensor name,
/// index) always gives the same fp32 value, on any machine and for both backends, and any slice of
/// a tensor can be generated on its own (so large tensors stream and fill in parallel).
/// Values are approximately normal (Irwin-Hall sum of four uniforms, rescaled to unit variance,
/// bounded at +/-3.46 sigma) with the small standard deviations of <see cref="WeightInit"/>, so
/// activations and logits stay in a sane range through every layer.
/// </summary>
public sealed class WeightGenerator : IWeightSource
{
    private const double BaseStd = 0.02;
    private static readonly float Sqrt3 = MathF.Sqrt(3f);

    public WeightGenerator(int seed, int layers)
    {
        Seed = seed;
        Layers = Math.Max(1, layers);
    }

    public int Seed { get; }

    public int Layers { get; }

    public string Description => $"seed {Seed}";

    public string CacheKey => $"w{Seed}";

    /// <summary>Nothing to release: the values are computed.</summary>
    public void Dispose()
    {
    }

    public (float Scale, float Offset) Distribution(WeightInit init) => init switch
    {
        WeightInit.Normal => ((float)BaseStd, 0f),
        WeightInit.Residual => ((float)(BaseStd / Math.Sqrt(2.0 * Layers)), 0f),
        WeightInit.Position => (0.01f, 0f),
        WeightInit.Gain => ((float)BaseStd, 1f),
        WeightInit.Bias => ((float)BaseStd, 0f),
        _ => throw new ArgumentOutOfRangeException(nameof(init), init, null),
    };

    /// <summary>The per-tensor stream key: the seed mixed with a hash of the tensor's name.</summary>
    public ulong StreamKey(string tensorName)
    {
        ulong h = 14695981039346656037UL; // FNV-1a 64
        foreach (byte b in Encoding.UTF8.GetBytes(tensorName))
        {
            h = (h ^ b) * 1099511628211UL;
        }

        return Mix(h ^ Mix((ulong)(uint)Seed + 0x9E3779B97F4A7C15UL));
    }

    /// <summary>Writes elements [start, start + dest.Length) of <paramref name="spec"/> into dest.</summary>
    public void Fill(WeightSpec spec, Span<float> dest, long start = 0)
    {
        ulong key = StreamKey(spec.Name);
        (float scale, float offset) = Distribution(spec.Init);
        for (int i = 0; i < dest.Length; i++)
        {
            dest[i] = offset + scale * UnitNormal(key, (ulong)(start + i));
        }
    }

    /// <summary>The whole tensor, in parallel over chunks (for tensors that fit a managed array).</summary>
    public float[] Generate(WeightSpec spec)
    {
        var data = new float[spec.Elements];
        FillParallel(spec, data);
        return data;
    }

    /// <summary>Fills dest (elements [start, start + dest.Length)) using every core.</summary>
    public void FillParallel(WeightSpec spec, Span<float> dest, long start = 0)
    {
        const int chunk = 1 << 18;
        if (dest.Length <= chunk)
        {
            Fill(spec, dest, start);
            return;
        }

        unsafe
        {
            fixed (float* p = dest)
            {
                float* basePtr = p;
                int length = dest.Length;
                int chunks = (length + chunk - 1) / chunk;
                Parallel.For(0, chunks, c =>
                {
                    int from = c * chunk;
                    int n = Math.Min(chunk, length - from);
                    Fill(spec, new Span<float>(basePtr + from, n), start + from);
                });
            }
        }
    }

    /// <summary>Fills native memory of <paramref name="count"/> floats (e.g. a tensor's storage).</summary>
    public unsafe void FillParallel(WeightSpec spec, IntPtr dest, long count)
    {
        const long chunk = 1 << 18;
        long chunks = (count + chunk - 1) / chunk;
        float* basePtr = (float*)dest;
        Parallel.For(0L, chunks, c =>
        {
            long from = c * chunk;
            int n = (int)Math.Min(chunk, count - from);
            Fill(spec, new Span<float>(basePtr + from, n), from);
        });
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float UnitNormal(ulong key, ulong index)
    {
        ulong r = Mix(key + index * 0x9E3779B97F4A7C15UL);
        // Four 16-bit uniforms in [0, 1): sum has mean 2 and variance 4/12.
        float s = (ushort)r + (ushort)(r >> 16) + (ushort)(r >> 32) + (float)(ushort)(r >> 48);
        return (s * (1f / 65536f) - 2f) * Sqrt3;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Mix(ulong z)
    {
        // SplitMix64 finalizer.
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>A short fingerprint of a tensor's first values, for logs and cache checks.</summary>
    public string Fingerprint(WeightSpec spec)
    {
        Span<float> head = stackalloc float[8];
        Fill(spec, head[..(int)Math.Min(8, spec.Elements)]);
        Span<byte> bytes = stackalloc byte[32];
        for (int i = 0; i < 8; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes[(i * 4)..], head[i]);
        }

        return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes))[..12];
    }
}
