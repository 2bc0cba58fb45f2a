using System.Buffers.Binary;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Harness.Models.Formats;

/// <summary>A GGUF file opened: its metadata (key to value: integers as long, floats as double, strings, bools, arrays as object[]) and
/// tensors.</summary>
public sealed class GgufFile : IDisposable
{
    public GgufFile(string path, IReadOnlyDictionary<string, object> metadata, Checkpoint tensors)
    {
        Path = path;
        Metadata = metadata;
        Tensors = tensors;
    }

    public string Path { get; }

    public IReadOnlyDictionary<string, object> Metadata { get; }

    public Checkpoint Tensors { get; }

    public string Architecture => Text("general.architecture") ?? "";

    public string? Text(string key) => Metadata.GetValueOrDefault(key) as string;

    public long? Integer(string key) => Metadata.GetValueOrDefault(key) is long v ? v : null;

    public double? Real(string key) => Metadata.GetValueOrDefault(key) switch
    {
        double d => d,
        long l => l,
        _ => null,
    };

    public object[]? Array(string key) => Metadata.GetValueOrDefault(key) as object[];

    public void Dispose() => Tensors.Dispose();
}

/// <summary>
/// The GGUF format (version 3, as llama.cpp writes it): magic, version, tensor and metadata counts,
/// typed metadata key/values, tensor infos (name, dimensions innermost first, ggml type, offset), and
/// the tensor data aligned to <c>general.alignment</c> (32 by default). Read: f32, f16, bf16, q8_0,
/// q4_0, q4_K, q6_K. Written: f32, f16, q8_0 and q4_0 (llama.cpp's block layouts and rounding: <see cref="BlockQuantizer"/>),
/// q4_K and q6_K (llama.cpp's layouts, a plain min/max quantizer: <see cref="KQuants"/>).
/// </summary>
public static class Gguf
{
    private const uint Magic = 0x46554747; // "GGUF"
    private const int DefaultAlignment = 32;

    private enum ValueType : uint
    {
        UInt8, Int8, UInt16, Int16, UInt32, Int32, Float32, Bool, String, Array, UInt64, Int64, Float64,
    }

    /// <summary>ggml type ids of the element types read and written.</summary>
    private static readonly Dictionary<uint, TensorElement> GgmlTypes = new()
    {
        [0] = TensorElement.F32,
        [1] = TensorElement.F16,
        [2] = TensorElement.Q4Zero,
        [8] = TensorElement.Q8Zero,
        [12] = TensorElement.Q4K,
        [14] = TensorElement.Q6K,
        [30] = TensorElement.BF16,
    };

    public static GgufFile Open(string path)
    {
        SafeFileHandle h = Checkpoint.OpenFile(path, "Model file");
        try
        {
            long size = RandomAccess.GetLength(h);
            using var stream = new FileStream(h, FileAccess.Read, 1 << 16);
            var r = new Reader(stream, path, size);
            if (r.U32() != Magic)
            {
                throw HarnessException.BadInput($"Model file '{path}' is not a GGUF file (no GGUF magic).");
            }

            uint version = r.U32();
            if (version is < 2 or > 3)
            {
                throw HarnessException.BadInput($"Model file '{path}' is GGUF version {version}; versions 2 and 3 are read.");
            }

            long tensorCount = r.Count(), kvCount = r.Count();
            var metadata = new Dictionary<string, object>(StringComparer.Ordinal);
            for (long i = 0; i < kvCount; i++)
            {
                string key = r.Str();
                metadata[key] = r.Value((ValueType)r.U32());
            }

            var infos = new List<(string Name, long[] Shape, uint Type, long Offset)>();
            for (long i = 0; i < tensorCount; i++)
            {
                string name = r.Str();
                uint dims = r.U32();
                if (dims is 0 or > 4)
                {
                    throw HarnessException.BadInput($"Model file '{path}': tensor {name} has {dims} dimensions; GGUF allows 1 to 4.");
                }

                var ne = new long[dims];
                for (int d = 0; d < dims; d++)
                {
                    ne[d] = r.Count();
                }

                uint type = r.U32();
                long offset = r.Count();
                System.Array.Reverse(ne);
                infos.Add((name, ne, type, offset));
            }

            long alignment = metadata.GetValueOrDefault("general.alignment") is long a && a > 0 ? a : DefaultAlignment;
            long dataStart = (stream.Position + alignment - 1) / alignment * alignment;
            var tensors = new Dictionary<string, CheckpointTensor>(StringComparer.Ordinal);
            foreach ((string name, long[] shape, uint type, long offset) in infos)
            {
                if (!GgmlTypes.TryGetValue(type, out TensorElement element))
                {
                    throw HarnessException.BadInput(
                        $"Model file '{path}': tensor {name} has ggml type {type}, which is not read (f32, f16, bf16, q8_0, q4_0, q4_K, "
                            + $"q6_K are).");
                }

                // A block type's rows are whole blocks (llama.cpp quantizes row by row): q4_K's 256 values, q4_0's 32.
                if (element.BlockElements() is var n and > 1 && shape[^1] % n != 0)
                {
                    throw HarnessException.BadInput($"Model file '{path}': tensor {name} is {element.Name()} with rows of {shape[^1]} "
                        + $"values, which are not whole blocks of {n}.");
                }

                long elements = shape.Aggregate(1L, (x, y) => x * y);
                var t = new CheckpointTensor(name, shape, element, path, dataStart + offset, element.ByteCount(elements));
                Checkpoint.CheckRange(t, dataStart, size);
                tensors[name] = t;
            }

            // The FileStream owns the handle: reopen one for the tensors' random reads.
            SafeFileHandle data = Checkpoint.OpenFile(path, "Model file");
            var handles = new Dictionary<string, SafeFileHandle>(StringComparer.Ordinal) { [path] = data };
            return new GgufFile(path, metadata, new Checkpoint(tensors, handles));
        }
        finally
        {
            h.Dispose();
        }
    }

    /// <summary>Writes a GGUF file (atomically): the metadata in order, then each tensor (float or block types), aligned.</summary>
    public static void Write(string path, IReadOnlyList<KeyValuePair<string, object>> metadata, IReadOnlyList<TensorToWrite> tensors)
    {
        Checkpoint.WriteAtomically(path, s =>
        {
            var w = new BinaryWriter(s, Encoding.UTF8, leaveOpen: true);
            w.Write(Magic);
            w.Write(3u);
            w.Write((ulong)tensors.Count);
            w.Write((ulong)metadata.Count);
            foreach ((string key, object value) in metadata)
            {
                WriteString(w, key);
                WriteValue(w, value, withType: true);
            }

            long offset = 0;
            foreach (TensorToWrite t in tensors)
            {
                WriteString(w, t.Name);
                w.Write((uint)t.Shape.Length);
                foreach (long d in t.Shape.Reverse())
                {
                    w.Write((ulong)d);
                }

                w.Write(t.Element switch
                {
                    TensorElement.F32 => 0u,
                    TensorElement.F16 => 1u,
                    TensorElement.Q4Zero => 2u,
                    TensorElement.Q8Zero => 8u,
                    TensorElement.Q4K => 12u,
                    TensorElement.Q6K => 14u,
                    _ => throw new ArgumentOutOfRangeException(nameof(tensors), t.Element, "GGUF is written in f32, f16 or block types"),
                });
                w.Write((ulong)offset);
                offset = Align(offset + t.Element.ByteCount(t.Elements));
            }

            w.Flush();
            Pad(s);
            foreach (TensorToWrite t in tensors)
            {
                SafeTensors.WriteValues(s, t.Element, t.Values());
                Pad(s);
            }
        });
    }

    private static long Align(long n) => (n + DefaultAlignment - 1) / DefaultAlignment * DefaultAlignment;

    private static void Pad(Stream s)
    {
        long pad = Align(s.Position) - s.Position;
        for (long i = 0; i < pad; i++)
        {
            s.WriteByte(0);
        }
    }

    private static void WriteString(BinaryWriter w, string text)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        w.Write((ulong)bytes.Length);
        w.Write(bytes);
    }

    private static void WriteValue(BinaryWriter w, object value, bool withType)
    {
        void Type(ValueType t)
        {
            if (withType)
            {
                w.Write((uint)t);
            }
        }

        switch (value)
        {
            case uint u:
                Type(ValueType.UInt32);
                w.Write(u);
                break;
            case int i:
                Type(ValueType.Int32);
                w.Write(i);
                break;
            case float f:
                Type(ValueType.Float32);
                w.Write(f);
                break;
            case bool b:
                Type(ValueType.Bool);
                w.Write(b);
                break;
            case string text:
                Type(ValueType.String);
                WriteString(w, text);
                break;
            case string[] texts:
                WriteArray(w, withType, ValueType.String, texts);
                break;
            case float[] floats:
                WriteArray(w, withType, ValueType.Float32, floats.Cast<object>().ToArray());
                break;
            case int[] ints:
                WriteArray(w, withType, ValueType.Int32, ints.Cast<object>().ToArray());
                break;
            default:
                throw new ArgumentException($"GGUF metadata of type {value.GetType().Name} is not written", nameof(value));
        }
    }

    private static void WriteArray(BinaryWriter w, bool withType, ValueType itemType, object[] items)
    {
        if (withType)
        {
            w.Write((uint)ValueType.Array);
        }

        w.Write((uint)itemType);
        w.Write((ulong)items.Length);
        foreach (object item in items)
        {
            WriteValue(w, item, withType: false);
        }
    }

    /// <summary>Reads GGUF's little-endian values; running past the end is a truncated file.</summary>
    private sealed class Reader(Stream s, string path, long size)
    {
        private readonly byte[] _buf = new byte[8];

        public uint U32() => BinaryPrimitives.ReadUInt32LittleEndian(Bytes(4));

        /// <summary>A u64 count or offset that must fit the file (a header that lies gives one past it).</summary>
        public long Count()
        {
            ulong v = BinaryPrimitives.ReadUInt64LittleEndian(Bytes(8));
            return v > (ulong)Math.Max(size, 1L << 40)
                ? throw HarnessException.BadInput($"Model file '{path}' has a header that lies: a count or size of {v} at byte "
                    + $"{s.Position - 8}.")
                : (long)v;
        }

        public string Str()
        {
            long n = Count();
            if (n > size - s.Position)
            {
                throw Truncated();
            }

            var bytes = new byte[n];
            s.ReadExactly(bytes);
            return Encoding.UTF8.GetString(bytes);
        }

        public object Value(ValueType type) => type switch
        {
            ValueType.UInt8 => (long)Bytes(1)[0],
            ValueType.Int8 => (long)(sbyte)Bytes(1)[0],
            ValueType.UInt16 => (long)BinaryPrimitives.ReadUInt16LittleEndian(Bytes(2)),
            ValueType.Int16 => (long)BinaryPrimitives.ReadInt16LittleEndian(Bytes(2)),
            ValueType.UInt32 => (long)U32(),
            ValueType.Int32 => (long)BinaryPrimitives.ReadInt32LittleEndian(Bytes(4)),
            ValueType.Float32 => (double)BinaryPrimitives.ReadSingleLittleEndian(Bytes(4)),
            ValueType.Bool => Bytes(1)[0] != 0,
            ValueType.String => Str(),
            ValueType.UInt64 => (long)BinaryPrimitives.ReadUInt64LittleEndian(Bytes(8)),
            ValueType.Int64 => BinaryPrimitives.ReadInt64LittleEndian(Bytes(8)),
            ValueType.Float64 => BinaryPrimitives.ReadDoubleLittleEndian(Bytes(8)),
            ValueType.Array => ArrayValue(),
            _ => throw HarnessException.BadInput($"Model file '{path}' has a metadata value of unknown type {(uint)type} at byte "
                + $"{s.Position - 4}."),
        };

        private object[] ArrayValue()
        {
            var type = (ValueType)U32();
            long n = Count();
            if (n > size - s.Position)
            {
                throw Truncated();
            }

            var items = new object[n];
            for (long i = 0; i < n; i++)
            {
                items[i] = Value(type);
            }

            return items;
        }

        private ReadOnlySpan<byte> Bytes(int n)
        {
            if (s.Position + n > size)
            {
                throw Truncated();
            }

            s.ReadExactly(_buf, 0, n);
            return _buf.AsSpan(0, n);
        }

        private HarnessException Truncated() => HarnessException.BadInput($"Model file '{path}' is truncated: its GGUF header ends past "
            + $"the end of the file ({size} bytes).");
    }
}
