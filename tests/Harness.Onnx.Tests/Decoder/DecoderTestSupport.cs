using Harness.Backends;
using Harness.Models;
using Harness.Onnx.Decoder;
using Microsoft.ML.OnnxRuntime;

namespace Harness.Onnx.Tests.Decoder;

/// <summary>Shared helpers: a private model cache per test run, and greedy generation with logits.</summary>
internal static class DecoderTestSupport
{
    private static readonly Lazy<string> CacheRoot = new(() =>
    {
        // Shared across runs: entries are keyed by shape, dtype, seed and generator version, and
        // written atomically, so reuse is safe and saves regenerating gpt2-124m (0.5 GB) every run.
        string dir = Environment.GetEnvironmentVariable("HARNESS_TEST_CACHE") is { Length: > 0 } d ? d : Path.Combine(Path.GetTempPath(), "harness-test-cache");
        Directory.CreateDirectory(dir);
        Environment.SetEnvironmentVariable("HARNESS_CACHE", dir);
        return dir;
    });

    public static string EnsureCache() => CacheRoot.Value;

    public static DecoderConfig Tiny(string name) => ModelCatalog.Load(name);

    /// <summary>Greedy generation on ONNX Runtime CPU: per step, the tokens and the last-position logits.</summary>
    public static (long[][] Tokens, float[][] Logits) GenerateOnnx(DecoderConfig c, int batch, long[] prompt, int promptTokens, int newTokens, int weightSeed = 7, bool fixedDecodeShapes = false, TensorDType dtype = TensorDType.Float32)
    {
        EnsureCache();
        string path = DecoderModelCache.GetOrCreate(c, dtype, weightSeed);
        var backend = BackendSpec.Parse("onnx:cpu");
        using InferenceSession session = OnnxSessionFactory.Create(path, backend, new WorkloadOptions { Threads = 1 });
        using var runner = new OnnxDecoderRunner(session, c, dtype, backend, batch, promptTokens, promptTokens + newTokens, captureLogits: true, fixedDecodeShapes: fixedDecodeShapes);
        var tokens = new long[newTokens][];
        var logits = new float[newTokens][];
        runner.Prefill(prompt);
        for (int i = 0; i < newTokens; i++)
        {
            if (i > 0)
            {
                runner.Step();
            }

            tokens[i] = runner.NextTokens.ToArray();
            logits[i] = runner.Logits.ToArray();
        }

        return (tokens, logits);
    }

    /// <summary>||a - b||_2 / ||b||_2.</summary>
    public static double RelativeError(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double num = 0, den = 0;
        for (int i = 0; i < a.Length; i++)
        {
            double diff = a[i] - b[i];
            num += diff * diff;
            den += (double)b[i] * b[i];
        }

        return Math.Sqrt(num / Math.Max(den, 1e-30));
    }
}
