using System.Diagnostics;
using Harness.Backends;
using Harness.Models;

namespace Harness.Onnx.Decoder;

/// <summary>
/// Generated decoder graphs on disk, keyed by shape hash, dtype, weight seed and generator version,
/// under <c>$HARNESS_CACHE/decoders</c> (default <c>~/.cache/harness/decoders</c>). Never committed.
/// A model is written into a temporary folder and renamed into place when complete, so concurrent
/// runs and interrupted writes never see half a model.
/// </summary>
public static class DecoderModelCache
{
    public const string ModelFile = "model.onnx";
    public const string DataFile = "model.onnx.data";

    public static string Root()
    {
        string? env = Environment.GetEnvironmentVariable("HARNESS_CACHE");
        string root = env is { Length: > 0 }
            ? env
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "harness");
        return Path.Combine(root, "decoders");
    }

    /// <summary>Free space of the file system holding <paramref name="folder"/> (the mount with the longest matching root).</summary>
    public static long FreeBytes(string folder)
    {
        string full = Path.GetFullPath(folder).TrimEnd('/') + "/";
        DriveInfo? best = null;
        foreach (DriveInfo d in DriveInfo.GetDrives())
        {
            string root = d.RootDirectory.FullName.TrimEnd('/') + "/";
            if (full.StartsWith(root, StringComparison.Ordinal) && (best is null || root.Length > best.RootDirectory.FullName.TrimEnd('/').Length + 1))
            {
                try
                {
                    _ = d.AvailableFreeSpace;
                    best = d;
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                }
            }
        }

        return best?.AvailableFreeSpace ?? long.MaxValue;
    }

    public static string FolderFor(DecoderConfig c, TensorDType dtype, int weightSeed) => FolderFor(c, dtype, $"w{weightSeed}");

    /// <summary>The folder of a model whose weights have this key (a seed, or a checkpoint's fingerprint).</summary>
    public static string FolderFor(DecoderConfig c, TensorDType dtype, string weightsKey) =>
        Path.Combine(Root(), $"{c.Name}-{c.ShapeHash()}-{dtype.ShortName()}-{weightsKey}-g{DecoderGraph.Version}");

    /// <summary>Bump when the quantized graphs' blocks change (rounding, layout), so that they are regenerated.</summary>
    public const int QuantizerVersion = 2;

    /// <summary>Returns the path of model.onnx, generating it first when it is not cached.</summary>
    /// <param name="quant">Weight-only quantization (a graph of its own, keyed by format, block, zero points and accuracy level).</param>
    public static string GetOrCreate(
        DecoderConfig c, TensorDType dtype, int weightSeed, TextWriter? log = null, WeightQuantization? quant = null)
    {
        // Weights from the seed, or from the checkpoint the config was read from (--model PATH): keyed by its fingerprint.
        string key = c.WeightsPath is null ? $"w{weightSeed}" : "f" + Harness.Models.Formats.ModelFiles.WeightsFingerprint(c.WeightsPath);
        if (quant is not null)
        {
            key += $"-{quant.Name}b{quant.Block}{(quant.ZeroPoints ? "z" : "")}{(quant.Widened ? "w" : "")}a{quant.AccuracyLevel}"
                + $"q{QuantizerVersion}";
        }

        string folder = FolderFor(c, dtype, key);
        string model = Path.Combine(folder, ModelFile);
        if (File.Exists(model))
        {
            return model;
        }

        var cost = new DecoderCost(c);
        long need = cost.WeightBytes(dtype, quant) + (64L << 20);
        Directory.CreateDirectory(Root());
        long free = FreeBytes(Root());
        if (free < need)
        {
            throw HarnessException.BadInput($"Generating {c.Name} ({dtype.ShortName()}) needs {MemoryFit.Gib(need)} of disk under {Root()}, but only {MemoryFit.Gib(free)} is free; set HARNESS_CACHE to a larger disk.");
        }

        string tmp = folder + ".tmp-" + Environment.ProcessId + "-" + Guid.NewGuid().ToString("N")[..8];
        Directory.CreateDirectory(tmp);
        var sw = Stopwatch.StartNew();
        try
        {
            byte[] proto;
            using (IWeightSource weights = ModelWeights.Open(c, weightSeed))
            {
                proto = DecoderGraph.Write(c, dtype, weights, Path.Combine(tmp, DataFile), quant);
            }

            File.WriteAllBytes(Path.Combine(tmp, ModelFile), proto);
            try
            {
                Directory.Move(tmp, folder);
            }
            catch (IOException) when (File.Exists(model))
            {
                // Another process finished the same model first; theirs is identical.
                Directory.Delete(tmp, recursive: true);
            }
        }
        catch
        {
            if (Directory.Exists(tmp))
            {
                Directory.Delete(tmp, recursive: true);
            }

            throw;
        }

        log?.WriteLine($"generated {c.Name} {quant?.Name ?? dtype.ShortName()} ({MemoryFit.Gib(cost.WeightBytes(dtype, quant))}) in "
            + $"{sw.Elapsed.TotalSeconds:0.0}s: {folder}");
        return model;
    }
}
