using Harness.Backends;
using Harness.Models;

namespace Harness.Decoding;

/// <summary>What a backend is asked to build: the model, its element type and weights, and the sequences it must hold at once.</summary>
public sealed record DecoderSpec
{
    public required DecoderConfig Model { get; init; }

    public required TensorDType DType { get; init; }

    public int WeightSeed { get; init; } = GenerateSettings.DefaultWeightSeed;

    /// <summary>Weight-only quantization of the matrices (<c>--dtype int8|int4</c>); null for weights in <see cref="DType"/>.</summary>
    public WeightQuantization? Quantization { get; init; }

    /// <summary>Sequences in the batch at once at most (rows of the KV cache).</summary>
    public required int Slots { get; init; }

    /// <summary>Tokens one sequence holds at most (prompt plus generated); the model's max positions when null.</summary>
    public int? Context { get; init; }

    /// <summary>Facts for the result's config: the model and its weights.</summary>
    public Dictionary<string, object?> Details() => GenerateSettings.DescribeModel(Model, DType, WeightSeed, Quantization);
}
