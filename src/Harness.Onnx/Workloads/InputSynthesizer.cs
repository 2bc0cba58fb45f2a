using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Harness.Onnx.Workloads;

/// <summary>
/// Resolves each model input's shape (fixed dimensions, <c>--shape</c> values, <c>--batch</c> for a
/// dynamic first dimension) and fills it with seeded values of its declared type.
/// </summary>
public static class InputSynthesizer
{
    public static long[] ResolveShape(string name, NodeMetadata meta, IReadOnlyDictionary<string, long[]> shapes, int batch)
    {
        int[] declared = meta.Dimensions;
        string Declared() => string.Join("x", declared.Select((d, i) => d >= 0 ? d.ToString(System.Globalization.CultureInfo.InvariantCulture) : Symbol(meta, i)));
        if (shapes.TryGetValue(name, out long[]? given))
        {
            if (given.Length != declared.Length)
            {
                throw HarnessException.BadInput($"Shape {string.Join("x", given)} for input '{name}' has {given.Length} dimensions; the model declares {declared.Length} ({Declared()}).");
            }

            for (int i = 0; i < given.Length; i++)
            {
                if (given[i] <= 0 || (declared[i] >= 0 && declared[i] != given[i]))
                {
                    throw HarnessException.BadInput($"Shape {string.Join("x", given)} does not fit input '{name}', declared as {Declared()}.");
                }
            }

            return given;
        }

        var shape = new long[declared.Length];
        for (int i = 0; i < declared.Length; i++)
        {
            if (declared[i] >= 0)
            {
                shape[i] = declared[i];
            }
            else if (i == 0)
            {
                shape[i] = batch;
            }
            else
            {
                throw HarnessException.BadInput($"Input '{name}' has dynamic dimensions ({Declared()}); give them with --shape {name}=<dims>, e.g. --shape {name}={string.Join("x", declared.Select((d, k) => d >= 0 ? d : (k == 0 ? batch : 16)))}.");
            }
        }

        if (batch != 1 && declared.Length > 0 && declared[0] >= 0 && declared[0] != batch)
        {
            throw HarnessException.BadInput($"The model has a fixed batch size of {declared[0]} (input '{name}' is {Declared()}); use --batch {declared[0]}.");
        }

        return shape;
    }

    /// <summary>Creates a host tensor of the input's type filled from a seeded generator. The array stays pinned by the OrtValue.</summary>
    public static OrtValue Create(string name, TensorElementType type, long[] shape, Random rng)
    {
        long count = shape.Aggregate(1L, (a, b) => a * b);
        if (count > int.MaxValue)
        {
            throw HarnessException.BadInput($"Input '{name}' of shape {string.Join("x", shape)} is too large to synthesize.");
        }

        int n = (int)count;
        return type switch
        {
            TensorElementType.Float => OrtValue.CreateTensorValueFromMemory(Fill(n, () => (float)(rng.NextDouble() * 2 - 1)), shape),
            TensorElementType.Double => OrtValue.CreateTensorValueFromMemory(Fill(n, () => rng.NextDouble() * 2 - 1), shape),
            TensorElementType.Float16 => OrtValue.CreateTensorValueFromMemory(Fill(n, () => (Float16)(float)(rng.NextDouble() * 2 - 1)), shape),
            TensorElementType.BFloat16 => OrtValue.CreateTensorValueFromMemory(Fill(n, () => (BFloat16)(float)(rng.NextDouble() * 2 - 1)), shape),
            // Integer inputs are often indices (token ids, positions): keep them small so they stay in range.
            TensorElementType.Int64 => OrtValue.CreateTensorValueFromMemory(Fill(n, () => (long)rng.Next(0, 2)), shape),
            TensorElementType.Int32 => OrtValue.CreateTensorValueFromMemory(Fill(n, () => rng.Next(0, 2)), shape),
            TensorElementType.Int8 => OrtValue.CreateTensorValueFromMemory(Fill(n, () => (sbyte)rng.Next(-8, 8)), shape),
            TensorElementType.UInt8 => OrtValue.CreateTensorValueFromMemory(Fill(n, () => (byte)rng.Next(0, 256)), shape),
            TensorElementType.Bool => OrtValue.CreateTensorValueFromMemory(Fill(n, () => rng.Next(0, 2) == 1), shape),
            _ => throw HarnessException.BadInput($"Input '{name}' has type {type}, which the harness cannot synthesize."),
        };
    }

    private static T[] Fill<T>(int n, Func<T> next)
    {
        var a = new T[n];
        for (int i = 0; i < n; i++)
        {
            a[i] = next();
        }

        return a;
    }

    private static string Symbol(NodeMetadata meta, int i) =>
        meta.SymbolicDimensions is { } s && i < s.Length && !string.IsNullOrEmpty(s[i]) ? s[i] : "?";
}
