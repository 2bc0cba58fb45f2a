using System.Runtime.InteropServices;
using Harness.Backends;
using Harness.Models;

namespace Harness.Onnx.Decoder;

/// <summary>
/// Collects the nodes, initializers, inputs and outputs of a graph. Large initializers stream into an
/// external data file (4 KiB aligned, so ONNX Runtime can map them), converted to the graph's float type.
/// </summary>
internal sealed class GraphBuilder : IDisposable
{
    private const int Alignment = 4096;
    private readonly List<OnnxNode> _nodes = [];
    private readonly List<OnnxTensor> _initializers = [];
    private readonly List<OnnxValueInfo> _inputs = [];
    private readonly List<OnnxValueInfo> _outputs = [];
    private readonly FileStream? _data;
    private readonly string? _dataFileName;
    private int _counter;

    public GraphBuilder(TensorDType dtype, string? externalDataPath)
    {
        DType = dtype;
        FloatType = dtype switch
        {
            TensorDType.Float32 => OnnxType.Float,
            TensorDType.Float16 => OnnxType.Float16,
            _ => OnnxType.BFloat16,
        };
        if (externalDataPath is not null)
        {
            _data = new FileStream(externalDataPath, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
            _dataFileName = Path.GetFileName(externalDataPath);
        }
    }

    public TensorDType DType { get; }

    public OnnxType FloatType { get; }

    public string Fresh(string hint) => $"{hint}_{_counter++}";

    public string Node(string op, string[] inputs, string? output = null, string domain = "", params OnnxAttr[] attrs) =>
        Nodes(op, inputs, [output ?? Fresh(op.ToLowerInvariant())], domain, attrs)[0];

    public string[] Nodes(string op, string[] inputs, string[] outputs, string domain = "", params OnnxAttr[] attrs)
    {
        _nodes.Add(new OnnxNode(op, inputs, outputs, Fresh("n_" + op), domain, attrs));
        return outputs;
    }

    public void Input(string name, OnnxType type, params object[] dims) => _inputs.Add(new(name, type, dims));

    public void Output(string name, OnnxType type, params object[] dims) => _outputs.Add(new(name, type, dims));

    public string ConstI64(long[] values, params long[] dims)
    {
        string name = Fresh("const_i64");
        _initializers.Add(new OnnxTensor(name, OnnxType.Int64, dims, MemoryMarshal.AsBytes(values.AsSpan()).ToArray()));
        return name;
    }

    /// <summary>A float constant in the graph's float type, stored inline.</summary>
    public string ConstF(string name, float[] values, params long[] dims)
    {
        _initializers.Add(new OnnxTensor(name, FloatType, dims, Encode(values)));
        return name;
    }

    /// <summary>A weight (generated or read), streamed into the external data file in the graph's float type.</summary>
    public string Weight(WeightSpec spec, IWeightSource generator)
    {
        if (_data is null)
        {
            _initializers.Add(new OnnxTensor(spec.Name, FloatType, spec.Shape, Encode(generator.Generate(spec))));
            return spec.Name;
        }

        Pad();
        long offset = _data.Position;
        const int chunk = 1 << 22;
        var buffer = new float[(int)Math.Min(chunk, spec.Elements)];
        for (long start = 0; start < spec.Elements; start += chunk)
        {
            int n = (int)Math.Min(chunk, spec.Elements - start);
            Span<float> part = buffer.AsSpan(0, n);
            generator.FillParallel(spec, part, start);
            _data.Write(Encode(part));
        }

        _initializers.Add(new OnnxTensor(spec.Name, FloatType, spec.Shape, null, offset, _data.Position - offset, _dataFileName));
        return spec.Name;
    }

    /// <summary>A float table (e.g. rotary cos/sin) in the external data file when there is one.</summary>
    public string Table(string name, float[] values, params long[] dims)
    {
        if (_data is null)
        {
            return ConstF(name, values, dims);
        }

        Pad();
        long offset = _data.Position;
        _data.Write(Encode(values));
        _initializers.Add(new OnnxTensor(name, FloatType, dims, null, offset, _data.Position - offset, _dataFileName));
        return name;
    }

    /// <summary>Bytes as they are (e.g. quantized blocks, uint8), in the external data file when there is one.</summary>
    public string Raw(string name, OnnxType type, byte[] bytes, params long[] dims)
    {
        if (_data is null)
        {
            _initializers.Add(new OnnxTensor(name, type, dims, bytes));
            return name;
        }

        Pad();
        long offset = _data.Position;
        _data.Write(bytes);
        _initializers.Add(new OnnxTensor(name, type, dims, null, offset, _data.Position - offset, _dataFileName));
        return name;
    }

    /// <summary>
    /// ONNX opset of every generated graph: 17, not the newest, because a node whose op version has
    /// no kernel in the CUDA provider silently runs on the CPU (copies, and no CUDA graph capture);
    /// the ops used here have had CUDA kernels at these versions for years.
    /// </summary>
    public const int OnnxOpset = 17;

    public byte[] Build(string graphName, string doc)
    {
        _data?.Flush(flushToDisk: true);
        return OnnxModelWriter.Write(graphName, _nodes, _initializers, _inputs, _outputs, [("", OnnxOpset), ("com.microsoft", 1)], doc);
    }

    public void Dispose() => _data?.Dispose();

    private void Pad()
    {
        long pad = (Alignment - (_data!.Position % Alignment)) % Alignment;
        if (pad > 0)
        {
            _data.Write(new byte[pad]);
        }
    }

    private byte[] Encode(ReadOnlySpan<float> values)
    {
        switch (DType)
        {
            case TensorDType.Float32:
                return MemoryMarshal.AsBytes(values).ToArray();
            case TensorDType.Float16:
            {
                var bytes = new byte[values.Length * 2];
                Span<Half> h = MemoryMarshal.Cast<byte, Half>(bytes.AsSpan());
                for (int i = 0; i < values.Length; i++)
                {
                    h[i] = (Half)values[i];
                }

                return bytes;
            }

            default:
            {
                var bytes = new byte[values.Length * 2];
                Span<ushort> b = MemoryMarshal.Cast<byte, ushort>(bytes.AsSpan());
                for (int i = 0; i < values.Length; i++)
                {
                    b[i] = ToBFloat16(values[i]);
                }

                return bytes;
            }
        }
    }

    /// <summary>fp32 to bf16, round to nearest even (NaN kept quiet).</summary>
    public static ushort ToBFloat16(float f)
    {
        uint u = BitConverter.SingleToUInt32Bits(f);
        if ((u & 0x7FFFFFFF) > 0x7F800000)
        {
            return (ushort)((u >> 16) | 0x40);
        }

        u += 0x7FFF + ((u >> 16) & 1);
        return (ushort)(u >> 16);
    }
}
