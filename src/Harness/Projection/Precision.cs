using Harness.Hardware.Catalog;

namespace Harness.Projection;

/// <summary>
/// The element types of a forward pass, by the catalog's names (bf16, fp16, fp8, fp4, fp32): the
/// weights, which also set the matrix products' compute rate, and the KV cache.
/// </summary>
public sealed record Precision(string Weights, string KvCache)
{
    /// <summary>The names a --dtype or --kv-dtype takes.</summary>
    public static readonly IReadOnlyList<string> Names = ["bf16", "fp16", "fp8", "fp4", "fp32", "int8", "int4", "q8_0", "q4_0"];

    /// <summary>Weight-only integer formats (block scales): their products compute in 16-bit activations.</summary>
    private static readonly string[] WeightOnly = ["int8", "int4", "q8_0", "q4_0"];

    /// <summary>
    /// The weights alone are quantized and the products run in 16 bits (a harness fp8 run, W8A16); kept by <see cref="With"/>
    /// while the weights' dtype stays the same, so a target in the run's dtype is assumed to compute as the run did.
    /// </summary>
    public bool WeightOnlyProducts { get; init; }

    public double WeightBytes => HardwareSpec.BytesPerElement(Weights);

    public double KvBytes => HardwareSpec.BytesPerElement(KvCache);

    /// <summary>The name the catalog's rate tables use (fp16 reads bf16; weight-only integers compute in bf16).</summary>
    public string ComputeDtype => WeightOnly.Contains(Weights) || WeightOnlyProducts ? "bf16" : HardwareSpec.NormalizeDtype(Weights);

    /// <summary>Rate tables from the narrowest dtype up.</summary>
    private static readonly string[] ComputeOrder = ["fp4", "fp8", "bf16", "fp32"];

    /// <summary>
    /// The dtype the matrix products run in on a card: the weights' own where the catalog has a rate
    /// for it, else the next wider one it has (weight-only quantization: fp4 weights on a Hopper card
    /// are widened to fp8 for the products, the bytes read stay fp4).
    /// </summary>
    public string ComputeDtypeOn(HardwareSpec card)
    {
        foreach (string d in ComputeOrder.SkipWhile(d => d != ComputeDtype))
        {
            if (card.PeakFlops(d) is not null || card.MeasuredFlops(d) is not null)
            {
                return d;
            }
        }

        throw HarnessException.BadInput($"The catalog has no matrix-product rate at {ComputeDtype} or wider for {card.Id}; {Hardware.Catalog.CatalogFile.Known(card.PeakDenseTflops.Keys)}");
    }

    /// <summary>The run's: its dtype, and its KV cache as the result names it, else 16-bit unless the weights are wider.</summary>
    public static Precision OfRun(LlmRunFacts facts)
    {
        string weights = Parse(facts.Dtype, "the result's dtype");
        string kv = facts.KvDtype is { } k ? Parse(k, "the result's kv_dtype") : HardwareSpec.BytesPerElement(weights) >= 2 ? weights : "bf16";
        return new Precision(weights, kv) { WeightOnlyProducts = facts.WeightOnly };
    }

    /// <summary>This precision with the weights and/or the KV cache changed (null keeps it).</summary>
    public Precision With(string? weights, string? kvCache)
    {
        string w = weights is null ? Weights : Parse(weights, "--dtype");
        return new Precision(w, kvCache is null ? KvCache : Parse(kvCache, "--kv-dtype"))
        {
            WeightOnlyProducts = WeightOnlyProducts && w == Weights,
        };
    }

    /// <summary>Halvings (or doublings) of the nominal element width from one dtype to another: bf16 to fp4 is 2.</summary>
    public static int StepsBetween(string a, string b) => Math.Abs((int)Math.Round(Math.Log2(NominalBits(a) / (double)NominalBits(b))));

    private static int NominalBits(string dtype) => dtype switch
    {
        "fp32" => 32,
        "bf16" or "fp16" => 16,
        "fp8" or "int8" or "q8_0" => 8,
        _ => 4,
    };

    public override string ToString()
    {
        string weights = WeightOnlyProducts && !WeightOnly.Contains(Weights) ? $"{Weights} weight-only" : Weights;
        return Weights == KvCache ? weights : $"{weights} (KV cache {KvCache})";
    }

    /// <summary>A dtype name, lower case, checked against the known ones (one sentence, exit 2, otherwise).</summary>
    public static string Parse(string text, string what)
    {
        string d = text.Trim().ToLowerInvariant();
        d = d switch
        {
            "bfloat16" => "bf16",
            "float16" or "half" => "fp16",
            "float32" or "float" => "fp32",
            "float8" or "e4m3" or "fp8_e4m3" => "fp8",
            "nvfp4" or "mxfp4" => "fp4",
            _ => d,
        };
        if (!Names.Contains(d))
        {
            throw HarnessException.BadInput($"{what} '{text}' is not a known dtype; use one of {string.Join(", ", Names)}.");
        }

        return d;
    }
}
