using System.Globalization;
using Harness.Backends;
using Harness.Models.Formats;

namespace Harness.LlamaCpp;

/// <summary>
/// The GGUF file llama.cpp runs, and the types of its tensors: llama.cpp computes with the weights as
/// stored, so the run's dtype is the file's (f32, f16, bf16), not a choice; a quantized file (q8_0,
/// q4_0...) runs quantized.
/// </summary>
internal sealed record GgufWeights(string Path, TensorDType? StoredAs, string Types)
{
    /// <summary>
    /// The model's GGUF file; anything else is refused by name (exit 2): a seeded model config, a
    /// Hugging Face folder, or no model at all.
    /// </summary>
    public static GgufWeights Of(DecoderConfig? model)
    {
        const string What = "llamacpp:cpu runs GGUF files only";
        if (model?.WeightsPath is not { } path)
        {
            string name = model?.Name ?? Harness.Models.GenerateSettings.DefaultModel;
            throw HarnessException.BadInput($"{What}, and model config '{name}' has seeded weights: write them with "
                + $"`harness export --model-config {name} --format gguf --out FILE.gguf`, then give --model FILE.gguf.");
        }

        if (!File.Exists(path))
        {
            throw HarnessException.BadInput($"{What}, and '{path}' is a Hugging Face folder: convert it with "
                + $"`harness export --model-config {path} --format gguf --out FILE.gguf`, then give --model FILE.gguf.");
        }

        using GgufFile g = Gguf.Open(path);
        var byType = g.Tensors.Tensors.Values
            .GroupBy(t => t.Element)
            .Select(t => (Element: t.Key, Tensors: t.Count(), Weights: t.Sum(x => x.Elements)))
            .OrderByDescending(t => t.Weights)
            .ToList();
        long total = Math.Max(1, byType.Sum(t => t.Weights));
        string types = string.Join(", ", byType.Select(t => string.Create(
            CultureInfo.InvariantCulture, $"{t.Element.Name()}: {t.Tensors} tensors, {100.0 * t.Weights / total:0.##}% of weights")));
        TensorDType? stored = byType.Count == 0 ? null : byType[0].Element switch
        {
            TensorElement.F32 => TensorDType.Float32,
            TensorElement.F16 => TensorDType.Float16,
            TensorElement.BF16 => TensorDType.BFloat16,
            _ => null,
        };
        return new GgufWeights(path, stored, types);
    }

    /// <summary>
    /// The run's dtype: the file's (fp32 when it is quantized) unless <c>--dtype</c> asks; a <c>--dtype</c>
    /// other than the file's float type is refused (llama.cpp does not cast weights).
    /// </summary>
    public TensorDType RunDType(TensorDType? asked)
    {
        if (asked is { } a && StoredAs is { } s && a != s)
        {
            throw HarnessException.BadInput($"llamacpp:cpu runs '{Path}' with its weights as stored ({s.ShortName()}), not --dtype "
                + $"{a.ShortName()}: leave --dtype out, or write a file of that type with `harness export --format gguf --dtype`.");
        }

        return asked ?? StoredAs ?? TensorDType.Float32;
    }
}
