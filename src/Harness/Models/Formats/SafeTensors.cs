using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Microsoft.Win32.SafeHandles;

namespace Harness.Models.Formats;

/// <summary>A tensor to write: its name, shape (PyTorch order), element type and a function giving its fp32 values.</summary>
public sealed record TensorToWrite(string Name, long[] Shape, TensorElement Element, Func<float[]> Values)
{
    public long Elements => Shape.Aggregate(1L, (a, b) => a * b);
}

/// <summary>
/// The safetensors format: an 8-byte little-endian header length, a JSON header naming each tensor's
/// dtype, shape and [begin, end) byte offsets into the data that follows, then the data. A folder's
/// weights are one <c>model.safetensors</c> or shards listed in <c>model.safetensors.index.json</c>.
/// </summary>
public static class SafeTensors
{
    public const string SingleFile = "model.safetensors";
    public const string IndexFile = "model.safetensors.index.json";

    /// <summary>Opens the folder's safetensors files (one, or the shards of the index), every header checked.</summary>
    public static Checkpoint OpenFolder(string folder)
    {
        string single = Path.Combine(folder, SingleFile), index = Path.Combine(folder, IndexFile);
        IReadOnlyList<string> files = File.Exists(index) ? Shards(index) : [single];
        var tensors = new Dictionary<string, CheckpointTensor>(StringComparer.Ordinal);
        var handles = new Dictionary<string, SafeFileHandle>(StringComparer.Ordinal);
        try
        {
            foreach (string file in files)
            {
                if (!File.Exists(file))
                {
                    throw HarnessException.BadInput(File.Exists(index)
                        ? $"Shard '{file}' named in {index} does not exist."
                        : $"Model folder '{folder}' has neither {SingleFile} nor {IndexFile}.");
                }

                SafeFileHandle h = Checkpoint.OpenFile(file, "Model file");
                handles[file] = h;
                foreach (CheckpointTensor t in ReadHeader(file, h))
                {
                    tensors[t.Name] = t;
                }
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

    /// <summary>The shard files an index names, in order of first mention.</summary>
    private static List<string> Shards(string index)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(index));
            string dir = Path.GetDirectoryName(index)!;
            return doc.RootElement.GetProperty("weight_map").EnumerateObject()
                .Select(p => p.Value.GetString() ?? throw new FormatException($"tensor {p.Name} names no file"))
                .Distinct(StringComparer.Ordinal).Select(f => Path.Combine(dir, f)).ToList();
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw HarnessException.BadInput($"Shard index '{index}' is not valid: {e.Message}", e);
        }
    }

    private static List<CheckpointTensor> ReadHeader(string file, SafeFileHandle h)
    {
        long size = RandomAccess.GetLength(h);
        Span<byte> lengthBytes = stackalloc byte[8];
        if (size < 8 || RandomAccess.Read(h, lengthBytes, 0) != 8)
        {
            throw HarnessException.BadInput($"Model file '{file}' is truncated: it has {size} bytes, fewer than a safetensors header.");
        }

        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
        if (headerLength > (ulong)(size - 8) || headerLength > 100_000_000)
        {
            throw HarnessException.BadInput($"Model file '{file}' is truncated or not safetensors: its header claims {headerLength} "
                + $"bytes, the file has {size}.");
        }

        var header = new byte[headerLength];
        RandomAccess.Read(h, header, 8);
        long dataStart = 8 + (long)headerLength;
        var list = new List<CheckpointTensor>();
        try
        {
            using var doc = JsonDocument.Parse(header);
            foreach (JsonProperty p in doc.RootElement.EnumerateObject())
            {
                if (p.Name == "__metadata__")
                {
                    continue;
                }

                string dtype = p.Value.GetProperty("dtype").GetString() ?? "";
                TensorElement element = dtype switch
                {
                    "F32" => TensorElement.F32,
                    "F16" => TensorElement.F16,
                    "BF16" => TensorElement.BF16,
                    _ => throw HarnessException.BadInput($"Model file '{file}': tensor {p.Name} has dtype {dtype}; F32, F16 and BF16 are "
                        + $"read."),
                };
                long[] shape = p.Value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
                long[] offsets = p.Value.GetProperty("data_offsets").EnumerateArray().Select(d => d.GetInt64()).ToArray();
                if (offsets.Length != 2 || offsets[1] < offsets[0] || offsets[0] < 0)
                {
                    throw HarnessException.BadInput($"Model file '{file}': tensor {p.Name} has data_offsets "
                        + $"[{string.Join(",", offsets)}], not [begin, end].");
                }

                var t = new CheckpointTensor(p.Name, shape, element, file, dataStart + offsets[0], offsets[1] - offsets[0]);
                Checkpoint.CheckRange(t, dataStart, size);
                list.Add(t);
            }
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw HarnessException.BadInput($"Model file '{file}' has a header that is not valid safetensors JSON: {e.Message}", e);
        }

        return list;
    }

    /// <summary>Writes tensors as one safetensors file (atomically), values converted to each tensor's element type.</summary>
    public static void Write(string path, IReadOnlyList<TensorToWrite> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var header = new Dictionary<string, object>(StringComparer.Ordinal);
        if (metadata is not null)
        {
            header["__metadata__"] = metadata;
        }

        long offset = 0;
        foreach (TensorToWrite t in tensors)
        {
            long bytes = t.Element.ByteCount(t.Elements);
            header[t.Name] = new Dictionary<string, object>
            {
                ["dtype"] = t.Element.ToString(),
                ["shape"] = t.Shape,
                ["data_offsets"] = new[] { offset, offset + bytes },
            };
            offset += bytes;
        }

        byte[] json = JsonSerializer.SerializeToUtf8Bytes(header);
        int padded = (json.Length + 7) / 8 * 8;
        Checkpoint.WriteAtomically(path, s =>
        {
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)padded);
            s.Write(length);
            s.Write(json);
            s.Write(Encoding.ASCII.GetBytes(new string(' ', padded - json.Length)));
            foreach (TensorToWrite t in tensors)
            {
                WriteValues(s, t.Element, t.Values());
            }
        });
    }

    /// <summary>fp32 values into a stream in a plain float type, in chunks.</summary>
    internal static void WriteValues(Stream s, TensorElement element, float[] values)
    {
        const int chunk = 1 << 20; // whole blocks of every type
        var buffer = new byte[element.ByteCount(Math.Min(chunk, values.Length))];
        for (int i = 0; i < values.Length; i += chunk)
        {
            int n = Math.Min(chunk, values.Length - i);
            element.FromFloat(values.AsSpan(i, n), buffer);
            s.Write(buffer, 0, (int)element.ByteCount(n));
        }
    }
}
