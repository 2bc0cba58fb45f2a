using Harness.Backends;
using Harness.Models;

namespace Harness.Decoding;

/// <summary>How a fixed-shape decoder chooses the shape of each batch.</summary>
public enum DecoderShapes
{
    /// <summary>The shape of the sequences given (<c>generate</c>: batch, prompt, prompt + new), no padding: tokens are exact.</summary>
    Exact,

    /// <summary>
    /// Batch rounded up to a power of two and lengths to multiples of 64, so that few distinct shapes
    /// are built for sequences of varying lengths (the agents' steps); prompts are cut to the model's
    /// max positions - 1, and a sequence that decodes past the cache keeps decoding at its last position.
    /// </summary>
    Rounded,

    /// <summary>
    /// A KV-cache slot of <see cref="DecoderSpec.Context"/> tokens per sequence, and sequences join
    /// while others decode (<see cref="SlotDecoder"/>: continuous batching, what <c>harness serve</c> runs).
    /// </summary>
    PerSlot,
}

/// <summary>What a backend is asked to build: the model, its element type and weights, and the sequences it must hold at once.</summary>
public sealed record DecoderSpec
{
    public required DecoderConfig Model { get; init; }

    public required TensorDType DType { get; init; }

    public int WeightSeed { get; init; } = GenerateSettings.DefaultWeightSeed;

    /// <summary>KV-cache slots: sequences at once.</summary>
    public required int Slots { get; init; }

    public DecoderShapes Shapes { get; init; } = DecoderShapes.Exact;

    /// <summary>With <see cref="DecoderShapes.PerSlot"/>: tokens each slot holds (prompt plus generated), at most the model's max positions.</summary>
    public int? Context { get; init; }

    /// <summary>Facts for the result's config: the model and its weights.</summary>
    public Dictionary<string, object?> Details() => GenerateSettings.DescribeModel(Model, DType, WeightSeed);
}
