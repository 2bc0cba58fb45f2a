using System.Buffers.Binary;
using System.Text;

namespace Harness.Onnx.Decoder;

/// <summary>
/// A minimal protobuf writer for the subset of onnx.proto (IR 10) that generated graphs use: model,
/// graph, node, attribute, tensor (inline or external data), value info. Field numbers follow
/// onnx/onnx.proto. Messages are small (weights live in an external data file), so each message is
/// built in memory and length-prefixed by its parent.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "A MemoryStream holds no native resource; disposing it frees nothing.")]
internal sealed class ProtoWriter
{
    private readonly MemoryStream _s = new();

    public byte[] ToArray() => _s.ToArray();

    public void Varint(int field, long value)
    {
        Tag(field, 0);
        WriteVarint((ulong)value);
    }

    public void Float(int field, float value)
    {
        Tag(field, 5);
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteSingleLittleEndian(b, value);
        _s.Write(b);
    }

    public void String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

    public void Bytes(int field, ReadOnlySpan<byte> value)
    {
        Tag(field, 2);
        WriteVarint((ulong)value.Length);
        _s.Write(value);
    }

    public void Message(int field, Action<ProtoWriter> body)
    {
        var inner = new ProtoWriter();
        body(inner);
        Bytes(field, inner._s.GetBuffer().AsSpan(0, (int)inner._s.Length));
    }

    private void Tag(int field, int wireType) => WriteVarint((ulong)((field << 3) | wireType));

    private void WriteVarint(ulong v)
    {
        while (v >= 0x80)
        {
            _s.WriteByte((byte)(v | 0x80));
            v >>= 7;
        }

        _s.WriteByte((byte)v);
    }
}

/// <summary>onnx.TensorProto.DataType values.</summary>
internal enum OnnxType
{
    Float = 1,
    UInt8 = 2,
    Int32 = 6,
    Int64 = 7,
    Float16 = 10,
    BFloat16 = 16,
    Float8E4M3FN = 17,
}

/// <summary>An attribute value of a node.</summary>
internal abstract record OnnxAttr(string Name)
{
    public sealed record Int(string N, long Value) : OnnxAttr(N);

    public sealed record Float(string N, float Value) : OnnxAttr(N);

    public sealed record Str(string N, string Value) : OnnxAttr(N);

    public sealed record Ints(string N, long[] Values) : OnnxAttr(N);

    public sealed record Tensor(string N, OnnxTensor Value) : OnnxAttr(N);
}

/// <summary>A tensor: inline raw little-endian bytes, or a reference into the external data file.</summary>
internal sealed record OnnxTensor(string Name, OnnxType Type, long[] Dims, byte[]? Raw, long ExternalOffset = -1, long ExternalLength = 0, string? ExternalFile = null);

internal sealed record OnnxNode(string OpType, string[] Inputs, string[] Outputs, string Name, string Domain, OnnxAttr[] Attributes);

/// <summary>A graph input or output; a dimension is a number or a symbolic name.</summary>
internal sealed record OnnxValueInfo(string Name, OnnxType Type, object[] Dims);

/// <summary>Serializes a graph into ModelProto bytes.</summary>
internal static class OnnxModelWriter
{
    public static byte[] Write(
        string graphName,
        IReadOnlyList<OnnxNode> nodes,
        IReadOnlyList<OnnxTensor> initializers,
        IReadOnlyList<OnnxValueInfo> inputs,
        IReadOnlyList<OnnxValueInfo> outputs,
        IReadOnlyList<(string Domain, long Version)> opsets,
        string docString)
    {
        var w = new ProtoWriter();
        w.Varint(1, 10); // ir_version 10 (ONNX 1.16+)
        w.String(2, "harness");
        w.String(3, "1");
        foreach ((string domain, long version) in opsets)
        {
            w.Message(8, o =>
            {
                o.String(1, domain);
                o.Varint(2, version);
            });
        }

        w.Message(7, g =>
        {
            foreach (OnnxNode n in nodes)
            {
                g.Message(1, nw => WriteNode(nw, n));
            }

            g.String(2, graphName);
            foreach (OnnxTensor t in initializers)
            {
                g.Message(5, tw => WriteTensor(tw, t));
            }

            g.String(10, docString);
            foreach (OnnxValueInfo v in inputs)
            {
                g.Message(11, vw => WriteValueInfo(vw, v));
            }

            foreach (OnnxValueInfo v in outputs)
            {
                g.Message(12, vw => WriteValueInfo(vw, v));
            }
        });
        return w.ToArray();
    }

    private static void WriteNode(ProtoWriter w, OnnxNode n)
    {
        foreach (string i in n.Inputs)
        {
            w.String(1, i);
        }

        foreach (string o in n.Outputs)
        {
            w.String(2, o);
        }

        w.String(3, n.Name);
        w.String(4, n.OpType);
        foreach (OnnxAttr a in n.Attributes)
        {
            w.Message(5, aw => WriteAttribute(aw, a));
        }

        if (n.Domain.Length > 0)
        {
            w.String(7, n.Domain);
        }
    }

    private static void WriteAttribute(ProtoWriter w, OnnxAttr a)
    {
        w.String(1, a.Name);
        switch (a)
        {
            case OnnxAttr.Float f:
                w.Float(2, f.Value);
                w.Varint(20, 1);
                break;
            case OnnxAttr.Int i:
                w.Varint(3, i.Value);
                w.Varint(20, 2);
                break;
            case OnnxAttr.Str s:
                w.String(4, s.Value);
                w.Varint(20, 3);
                break;
            case OnnxAttr.Tensor t:
                w.Message(5, tw => WriteTensor(tw, t.Value));
                w.Varint(20, 4);
                break;
            case OnnxAttr.Ints ints:
                foreach (long v in ints.Values)
                {
                    w.Varint(8, v);
                }

                w.Varint(20, 7);
                break;
        }
    }

    private static void WriteTensor(ProtoWriter w, OnnxTensor t)
    {
        foreach (long d in t.Dims)
        {
            w.Varint(1, d);
        }

        w.Varint(2, (int)t.Type);
        w.String(8, t.Name);
        if (t.Raw is not null)
        {
            w.Bytes(9, t.Raw);
            return;
        }

        void Entry(string key, string value) => w.Message(13, e =>
        {
            e.String(1, key);
            e.String(2, value);
        });
        Entry("location", t.ExternalFile!);
        Entry("offset", t.ExternalOffset.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Entry("length", t.ExternalLength.ToString(System.Globalization.CultureInfo.InvariantCulture));
        w.Varint(14, 1); // data_location = EXTERNAL
    }

    private static void WriteValueInfo(ProtoWriter w, OnnxValueInfo v)
    {
        w.String(1, v.Name);
        w.Message(2, type => type.Message(1, tensor =>
        {
            tensor.Varint(1, (int)v.Type);
            tensor.Message(2, shape =>
            {
                foreach (object d in v.Dims)
                {
                    shape.Message(1, dim =>
                    {
                        if (d is string sym)
                        {
                            dim.String(2, sym);
                        }
                        else
                        {
                            dim.Varint(1, Convert.ToInt64(d, System.Globalization.CultureInfo.InvariantCulture));
                        }
                    });
                }
            });
        }));
    }
}
