namespace Harness.Backends;

/// <summary>Element types the decoder and ceiling workloads run in.</summary>
public enum TensorDType
{
    Float32,
    Float16,
    BFloat16,
}

public static class TensorDTypes
{
    public static int Bytes(this TensorDType t) => t == TensorDType.Float32 ? 4 : 2;

    /// <summary>The short name used on the command line and in results: fp32, fp16, bf16.</summary>
    public static string ShortName(this TensorDType t) => t switch
    {
        TensorDType.Float32 => "fp32",
        TensorDType.Float16 => "fp16",
        _ => "bf16",
    };

    public static TensorDType Parse(string text) => text.Trim().ToLowerInvariant() switch
    {
        "fp32" or "float32" or "float" or "f32" => TensorDType.Float32,
        "fp16" or "float16" or "half" or "f16" => TensorDType.Float16,
        "bf16" or "bfloat16" => TensorDType.BFloat16,
        "int8" or "int4" or "fp8" => throw HarnessException.BadInput(
            $"--dtype {text} (weight-only quantization) is for decoders (generate, serve); use fp32, fp16 or bf16 here."),
        _ => throw HarnessException.BadInput(
            $"Unknown dtype '{text}'; use fp32, fp16 or bf16 (int8, int4 or fp8 for a decoder's weights)."),
    };
}
