using System.Runtime.InteropServices;
using Harness.Onnx.Decoder;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Harness.Onnx.Tests.Cuda;

/// <summary>
/// The decoder's KV cache on the CPU and against the fake CUDA runtime (device to device copies with
/// cudaMemcpy2D): a resize keeps each live row's first tokens head by head and zeroes the rest, a row
/// moves with its tokens, and nothing leaks.
/// </summary>
[Collection(FakeCudaRuntime.Collection)]
public sealed class KvCacheTests
{
    private const int Heads = 2, HeadDim = 2;

    private static float Value(bool v, int row, int head, int token, int d) =>
        (v ? -1 : 1) * ((row * 1000) + (head * 100) + (token * 10) + d + 1);

    private static KvCache Create(bool cuda)
    {
        OrtMemoryInfo memory = cuda
            ? new OrtMemoryInfo(OrtMemoryInfo.allocatorCUDA, OrtAllocatorType.DeviceAllocator, 0, OrtMemType.Default)
            : OrtMemoryInfo.DefaultInstance;
        return new KvCache(cuda, 0, layers: 1, Heads, HeadDim, sizeof(float), TensorElementType.Float, memory);
    }

    /// <summary>[rows, heads, tokens, head_dim] of K or V, as the session would see it.</summary>
    private static float[] Read(KvCache cache, bool v)
    {
        using OrtValue view = cache.View(0, v, 0, cache.Rows);
        return view.GetTensorDataAsSpan<float>().ToArray();
    }

    private static float At(float[] data, int tokens, int row, int head, int token, int d) =>
        data[(((((row * Heads) + head) * tokens) + token) * HeadDim) + d];

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_resize_keeps_each_rows_first_tokens_and_a_moved_row_takes_its_tokens_along(bool cuda)
    {
        FakeCudaRuntime.Load();
        int live = FakeCudaRuntime.LiveBlocks();
        using (KvCache cache = Create(cuda))
        {
            cache.Resize(2, 4, []);
            foreach (bool v in new[] { false, true })
            {
                using OrtValue view = cache.View(0, v, 0, 2);
                Span<float> data = view.GetTensorMutableDataAsSpan<float>();
                for (int r = 0; r < 2; r++)
                {
                    for (int h = 0; h < Heads; h++)
                    {
                        for (int t = 0; t < 4; t++)
                        {
                            for (int d = 0; d < HeadDim; d++)
                            {
                                data[(((((r * Heads) + h) * 4) + t) * HeadDim) + d] = Value(v, r, h, t, d);
                            }
                        }
                    }
                }
            }

            cache.Resize(3, 6, [3, 2]);
            Assert.Equal((3, 6), (cache.Rows, cache.Tokens));
            foreach (bool v in new[] { false, true })
            {
                float[] data = Read(cache, v);
                for (int h = 0; h < Heads; h++)
                {
                    for (int d = 0; d < HeadDim; d++)
                    {
                        for (int t = 0; t < 6; t++)
                        {
                            Assert.Equal(t < 3 ? Value(v, 0, h, t, d) : 0, At(data, 6, 0, h, t, d));
                            Assert.Equal(t < 2 ? Value(v, 1, h, t, d) : 0, At(data, 6, 1, h, t, d));
                            Assert.Equal(0, At(data, 6, 2, h, t, d));
                        }
                    }
                }
            }

            cache.MoveRow(1, 0, 2);
            float[] k = Read(cache, false);
            for (int h = 0; h < Heads; h++)
            {
                Assert.Equal(Value(false, 1, h, 1, 1), At(k, 6, 0, h, 1, 1));
                Assert.Equal(Value(false, 0, h, 2, 0), At(k, 6, 0, h, 2, 0)); // past the moved tokens: left as it was
            }

            if (cuda)
            {
                Assert.Equal(live + 2, FakeCudaRuntime.LiveBlocks());
            }
        }

        Assert.Equal(live, FakeCudaRuntime.LiveBlocks());
    }
}

/// <summary>The fake libcudart (fake-cudart.c, built with the tests), shared by the tests that count its blocks, one at a time.</summary>
internal static class FakeCudaRuntime
{
    public const string Collection = "fake CUDA runtime";

    private static readonly Lazy<IntPtr> Library = new(() =>
    {
        string path = Path.Combine(AppContext.BaseDirectory, "libfakecudart.so");
        Environment.SetEnvironmentVariable("HARNESS_CUDART", path);
        return NativeLibrary.Load(path);
    });

    public static IntPtr Load() => Library.Value;

    public static unsafe int LiveBlocks() => ((delegate* unmanaged<int>)NativeLibrary.GetExport(Load(), "fake_live_blocks"))();
}
