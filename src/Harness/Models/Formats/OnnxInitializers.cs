using System.Globalization;
using System.IO.MemoryMappedFiles;
using Harness.Backends;
using Microsoft.Win32.SafeHandles;

namespace Harness.Models.Formats;

/// <summary>
/// One initializer of an ONNX graph: its name, dims, onnx.TensorProto.DataType and where its bytes lie:
/// in the graph file itself (raw_data, or packed float_data) or in an external data file (location,
/// offset, length; <see cref="Bytes"/> -1 where no length is given). <see cref="File"/> is empty where
/// the values are in typed fields that are not one run of bytes (int32_data, a segment).
/// </summary>
public sealed record OnnxInitializer(string Name, long[] Dims, int DataType, string File, long Offset, long Bytes, bool External);

/// <summary>
/// The initializers of an ONNX decoder folder's graph (model.onnx), read with a minimal protobuf reader
/// (ModelProto.graph, GraphProto.initializer, TensorProto) over the memory-mapped file, so that weights
/// stored inline are never copied; and those of the canonical layout opened as a <see cref="Checkpoint"/>.
/// <c>harness export --format onnx|genai</c> (<c>OptimumGraph</c>) writes every weight under its canonical
/// name and shape (<see cref="WeightLayout"/>: [in, out], q|k|v and gate|up fused) into model.onnx_data, so
/// torch:* and export read that folder's weights as they read a Hugging Face folder's, one tensor at a time.
/// Another exporter's graph (Optimum's <c>onnx::MatMul_123</c>) is refused by the first weight it lacks.
/// </summary>
public static class OnnxInitializers
{
    // onnx.TensorProto.DataType.
    private const int FloatType = 1, Int32Type = 6, Int64Type = 7, BoolType = 9, Float16Type = 10, BFloat16Type = 16;

    /// <summary>Every initializer of the graph's main graph, in file order; a file that is not a ModelProto is bad input.</summary>
    public static unsafe IReadOnlyList<OnnxInitializer> Read(string graph)
    {
        graph = Path.GetFullPath(graph);
        long length = System.IO.File.Exists(graph)
            ? new FileInfo(graph).Length
            : throw HarnessException.BadInput($"Model file '{graph}' does not exist.");
        if (length == 0 || length > int.MaxValue)
        {
            throw HarnessException.BadInput(
                $"Model file '{graph}' has {length} bytes, which is no ONNX ModelProto (protobuf's limit is 2 GB).");
        }

        string folder = Path.GetDirectoryName(graph)!;
        try
        {
            using var map = MemoryMappedFile.CreateFromFile(graph, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
            using MemoryMappedViewAccessor view = map.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read);
            byte* p = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
            try
            {
                return Parse(new ReadOnlySpan<byte>(p + view.PointerOffset, (int)length), graph, folder);
            }
            finally
            {
                view.SafeMemoryMappedViewHandle.ReleasePointer();
            }
        }
        catch (FormatException e)
        {
            throw HarnessException.BadInput($"Model file '{graph}' is not a valid ONNX ModelProto: {e.Message}.", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw HarnessException.BadInput($"Model file '{graph}' cannot be read: {e.Message}", e);
        }
    }

    /// <summary>
    /// The canonical weights of <paramref name="c"/> among the graph's initializers, as checkpoint tensors (float, float16 or
    /// bfloat16), each checked against the config's shape and its file's length; the files stay open in the checkpoint.
    /// </summary>
    public static Checkpoint OpenWeights(DecoderConfig c, string graph)
    {
        graph = Path.GetFullPath(graph);
        string folder = Path.GetDirectoryName(graph)!;
        var byName = new Dictionary<string, OnnxInitializer>(StringComparer.Ordinal);
        foreach (OnnxInitializer i in Read(graph))
        {
            byName.TryAdd(i.Name, i);
        }

        var tensors = new Dictionary<string, CheckpointTensor>(StringComparer.Ordinal);
        var handles = new Dictionary<string, SafeFileHandle>(StringComparer.Ordinal);
        try
        {
            foreach (WeightSpec spec in WeightLayout.For(c))
            {
                tensors[spec.Name] = Weight(spec, byName, handles, graph, folder);
            }
        }
        catch
        {
            foreach (SafeFileHandle h in handles.Values)
            {
                h.Dispose();
            }

            throw;
        }

        return new Checkpoint(tensors, handles);
    }

    /// <summary>
    /// The element types of the graph's initializers (f32, f16, bf16, else ONNX's names: uint8, int4, ...), leaving out
    /// int32, int64 and bool (shapes, indices and masks, not weights); for the result.
    /// </summary>
    public static IReadOnlyList<string> WeightTypes(string graph) =>
        Read(graph).Select(i => i.DataType).Where(t => t is not (Int32Type or Int64Type or BoolType)).Distinct().Order()
            .Select(TypeName).ToList();

    /// <summary>An onnx.TensorProto.DataType in words (the element names checkpoints use for the float types).</summary>
    public static string TypeName(int dataType) => dataType switch
    {
        FloatType => TensorElement.F32.Name(),
        Float16Type => TensorElement.F16.Name(),
        BFloat16Type => TensorElement.BF16.Name(),
        2 => "uint8",
        3 => "int8",
        4 => "uint16",
        5 => "int16",
        Int32Type => "int32",
        Int64Type => "int64",
        8 => "string",
        BoolType => "bool",
        11 => "f64",
        12 => "uint32",
        13 => "uint64",
        17 or 18 or 19 or 20 => "float8",
        21 => "uint4",
        22 => "int4",
        _ => $"data type {dataType}",
    };

    private static CheckpointTensor Weight(
        WeightSpec spec,
        Dictionary<string, OnnxInitializer> byName,
        Dictionary<string, SafeFileHandle> handles,
        string graph,
        string folder)
    {
        if (!byName.TryGetValue(spec.Name, out OnnxInitializer? init))
        {
            throw HarnessException.BadInput($"ONNX folder '{folder}' has no initializer {spec.Name}: torch:* and export read the "
                + $"weights of the graphs harness export writes, by their canonical names (onnx:cpu and onnx:cuda run any graph "
                + $"of the Optimum layout as it is).");
        }

        TensorElement element = init.DataType switch
        {
            FloatType => TensorElement.F32,
            Float16Type => TensorElement.F16,
            BFloat16Type => TensorElement.BF16,
            _ => throw HarnessException.BadInput($"Model file '{graph}': initializer {spec.Name} is {TypeName(init.DataType)}; "
                + $"f32, f16 and bf16 weights are read."),
        };
        if (!init.Dims.SequenceEqual(spec.Shape))
        {
            throw HarnessException.BadInput($"Model file '{graph}': initializer {spec.Name} has shape [{string.Join(",", init.Dims)}], "
                + $"the config says [{string.Join(",", spec.Shape)}].");
        }

        if (init.File.Length == 0)
        {
            throw HarnessException.BadInput($"Model file '{graph}': initializer {spec.Name} keeps its values in typed fields, not in "
                + $"raw_data or external data, which are what is read.");
        }

        long need = element.ByteCount(spec.Elements);
        long bytes = init.Bytes < 0 ? need : init.Bytes;
        if (bytes != need)
        {
            throw HarnessException.BadInput($"Model file '{graph}': initializer {spec.Name} has {bytes} bytes of data, but its shape "
                + $"[{string.Join(",", spec.Shape)}] of {element.Name()} needs {need}.");
        }

        if (!handles.TryGetValue(init.File, out SafeFileHandle? handle))
        {
            handles[init.File] = handle = Checkpoint.OpenFile(init.File, init.External ? "External data file" : "Model file");
        }

        var t = new CheckpointTensor(spec.Name, spec.Shape, element, init.File, init.Offset, bytes);
        Checkpoint.CheckRange(t, 0, RandomAccess.GetLength(handle));
        return t;
    }

    private static List<OnnxInitializer> Parse(ReadOnlySpan<byte> bytes, string graph, string folder)
    {
        var list = new List<OnnxInitializer>();
        var model = new ProtoReader(bytes, 0);
        while (model.Next(out int field, out int wire))
        {
            if (field == 7 && wire == 2)
            {
                // ModelProto.graph; GraphProto.initializer.
                ProtoReader g = model.Message();
                while (g.Next(out int graphField, out int graphWire))
                {
                    if (graphField == 5 && graphWire == 2)
                    {
                        list.Add(Tensor(g.Message(), graph, folder));
                    }
                    else
                    {
                        g.Skip(graphWire);
                    }
                }
            }
            else
            {
                model.Skip(wire);
            }
        }

        return list;
    }

    /// <summary>A TensorProto: dims (1), data_type (2), name (8), raw_data (9) or packed float_data (4), external_data (13),
    /// data_location (14).</summary>
    private static OnnxInitializer Tensor(ProtoReader t, string graph, string folder)
    {
        var dims = new List<long>();
        int type = 0;
        string name = "";
        long inlineAt = -1, inlineBytes = -1, offset = 0, length = -1;
        bool external = false;
        string? location = null;
        while (t.Next(out int field, out int wire))
        {
            switch (field, wire)
            {
                case (1, 0):
                    dims.Add((long)t.Varint());
                    break;
                case (1, 2):
                    ProtoReader packed = t.Message();
                    while (!packed.AtEnd)
                    {
                        dims.Add((long)packed.Varint());
                    }

                    break;
                case (2, 0):
                    type = (int)t.Varint();
                    break;
                case (8, 2):
                    name = t.String();
                    break;
                case (9, 2) or (4, 2):
                    inlineBytes = t.Bytes(out inlineAt).Length;
                    break;
                case (13, 2):
                    (string key, string value) = Entry(t.Message());
                    switch (key)
                    {
                        case "location":
                            location = value;
                            break;
                        case "offset":
                            offset = Number(name, key, value);
                            break;
                        case "length":
                            length = Number(name, key, value);
                            break;
                    }

                    break;
                case (14, 0):
                    external = t.Varint() == 1;
                    break;
                default:
                    t.Skip(wire);
                    break;
            }
        }

        if (external || location is not null)
        {
            if (string.IsNullOrEmpty(location))
            {
                throw new FormatException($"initializer {name} has external data but names no location");
            }

            string file = Path.GetFullPath(Path.Combine(folder, location));
            if (!file.StartsWith(folder + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            {
                throw new FormatException($"initializer {name} has its external data at '{location}', outside the graph's folder");
            }

            return new OnnxInitializer(name, [.. dims], type, file, offset, length, External: true);
        }

        return inlineAt >= 0
            ? new OnnxInitializer(name, [.. dims], type, graph, inlineAt, inlineBytes, External: false)
            : new OnnxInitializer(name, [.. dims], type, "", -1, -1, External: false);
    }

    /// <summary>A StringStringEntryProto: key (1), value (2).</summary>
    private static (string Key, string Value) Entry(ProtoReader e)
    {
        string key = "", value = "";
        while (e.Next(out int field, out int wire))
        {
            if (field == 1 && wire == 2)
            {
                key = e.String();
            }
            else if (field == 2 && wire == 2)
            {
                value = e.String();
            }
            else
            {
                e.Skip(wire);
            }
        }

        return (key, value);
    }

    private static long Number(string tensor, string key, string value) =>
        long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out long n)
            ? n
            : throw new FormatException($"initializer {tensor} has external data {key} '{value}', not a number");
}
