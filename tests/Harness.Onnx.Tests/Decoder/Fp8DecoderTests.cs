using System.Runtime.InteropServices;
using System.Text;
using Harness.Backends;
using Harness.Models;
using Harness.Models.Formats;
using Harness.Onnx.Decoder;
using Microsoft.ML.OnnxRuntime;
using Xunit.Abstractions;

namespace Harness.Onnx.Tests.Decoder;

/// <summary>
/// fp8 weights (<c>--dtype fp8</c>). The CUDA graph cannot run here (MatMulBlockQuantizedFp8Weight has no CPU kernel), so
/// what it is made of is checked piece by piece: ONNX Runtime reads the harness's E4M3 bytes as the harness means them
/// (its own Cast, on the CPU); the graph holds each matrix as [N, K] E4M3 bytes and [N, K / block] fp32 scales, the
/// operator's contract; those weights, widened on the CPU, give logits close to fp32's; and a CPU run is refused.
/// </summary>
public sealed class Fp8DecoderTests(ITestOutputHelper output) : IDisposable
{
    private const int Seed = 7;
    private readonly string _dir = Directory.CreateTempSubdirectory("harness-fp8-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Hidden 128 and intermediate 384: whole blocks of 128, fp8's default.</summary>
    private static DecoderConfig Tiny(bool tied = false) => ModelCatalog.Parse($$"""
        { "name": "tiny-llama-fp8{{(tied ? "-tied" : "")}}", "architecture": "llama", "hidden": 128, "intermediate": 384, "layers": 2,
          "heads": 4, "kv_heads": 2, "vocab": 256, "max_positions": 64, "tie_embeddings": {{(tied ? "true" : "false")}} }
        """);

    private static WeightQuantization Fp8 => WeightQuantization.Fp8(new Dictionary<string, string>());

    /// <summary>
    /// Every code through ONNX Runtime's Cast (opset 19, fp8 to fp32) equals the codec's value, and fp32 values cast to fp8 and
    /// back (Cast's saturate=1, round to nearest even) equal the codec's rounding: the bytes the CUDA kernel reads mean what the
    /// quantizer meant.
    /// </summary>
    [Fact]
    public void Onnx_runtime_reads_and_rounds_e4m3_as_the_codec_does()
    {
        var rng = new Random(3);
        float[] samples =
        [
            .. Enumerable.Range(0, 4096).Select(_ => (float)((rng.NextDouble() - 0.5) * Math.Pow(2, -12 + (22 * rng.NextDouble())))),
            .. Enumerable.Range(0, 0x7E).Select(c => (Float8E4M3.ToFloat((byte)c) + Float8E4M3.ToFloat((byte)(c + 1))) / 2),
            500f, -1e6f,
        ];
        byte[] codes = Enumerable.Range(0, 256).Select(c => (byte)c).ToArray();
        var nodes = new List<OnnxNode>
        {
            new("Cast", ["codes"], ["decoded"], "decode", "", [new OnnxAttr.Int("to", (long)OnnxType.Float)]),
            new("Cast", ["samples"], ["samples_fp8"], "encode", "", [new OnnxAttr.Int("to", (long)OnnxType.Float8E4M3FN)]),
            new("Cast", ["samples_fp8"], ["rounded"], "widen", "", [new OnnxAttr.Int("to", (long)OnnxType.Float)]),
        };
        var initializers = new List<OnnxTensor>
        {
            new("codes", OnnxType.Float8E4M3FN, [256], codes),
            new("samples", OnnxType.Float, [samples.Length], MemoryMarshal.AsBytes(samples.AsSpan()).ToArray()),
        };
        byte[] model = OnnxModelWriter.Write("fp8-cast", nodes, initializers, [],
            [new("decoded", OnnxType.Float, [256]), new("rounded", OnnxType.Float, [samples.Length])], [("", 19)], "fp8 check");
        using var session = new InferenceSession(model);
        using IDisposableReadOnlyCollection<OrtValue> outputs = session.Run(new RunOptions(), [], [], ["decoded", "rounded"]);
        ReadOnlySpan<float> decoded = outputs[0].GetTensorDataAsSpan<float>(), rounded = outputs[1].GetTensorDataAsSpan<float>();
        for (int c = 0; c < 256; c++)
        {
            float mine = Float8E4M3.ToFloat((byte)c);
            Assert.True(mine.Equals(decoded[c]), $"code 0x{c:X2}: ONNX Runtime {decoded[c]}, codec {mine}");
        }

        for (int i = 0; i < samples.Length; i++)
        {
            float mine = Float8E4M3.ToFloat(Float8E4M3.FromFloat(samples[i]));
            Assert.True(mine.Equals(rounded[i]), $"{samples[i]:R}: ONNX Runtime rounds to {rounded[i]}, the codec to {mine}");
        }
    }

    /// <summary>
    /// The graph for onnx:cuda: one MatMulBlockQuantizedFp8Weight per matrix product (attention, MLP and LM head, each of the
    /// two layers), its B an E4M3 initializer [N, K] and its scales fp32 [N, K / 128], the token embedding kept in fp16.
    /// </summary>
    [Fact]
    public void The_cuda_graph_holds_e4m3_matrices_and_fp32_block_scales()
    {
        DecoderConfig c = Tiny();
        string data = Path.Combine(_dir, "model.onnx_data"), graph = Path.Combine(_dir, "model.onnx");
        using (var gen = new WeightGenerator(Seed, c.Layers))
        {
            File.WriteAllBytes(graph, DecoderGraph.Write(c, TensorDType.Float16, gen, data, Fp8));
        }

        IReadOnlyList<OnnxInitializer> all = OnnxInitializers.Read(graph);
        var weights = all.Where(i => i.Name.EndsWith(".fp8_weight", StringComparison.Ordinal)).ToList();
        var scales = all.Where(i => i.Name.EndsWith(".fp8_scales", StringComparison.Ordinal)).ToDictionary(i => i.Name);
        Assert.NotEmpty(weights);
        foreach (OnnxInitializer w in weights)
        {
            OnnxInitializer s = scales[w.Name.Replace(".fp8_weight", ".fp8_scales", StringComparison.Ordinal)];
            Assert.Equal(((int)OnnxType.Float8E4M3FN, 2), (w.DataType, w.Dims.Length));
            Assert.Equal(w.Dims[0] * w.Dims[1], w.Bytes);
            Assert.Equal((int)OnnxType.Float, s.DataType);
            Assert.Equal([w.Dims[0], w.Dims[1] / 128], s.Dims);
        }

        Assert.Contains(weights, w => w.Dims[0] == c.Vocab);
        string text = Encoding.Latin1.GetString(File.ReadAllBytes(graph));
        // A node's op_type is NodeProto field 4 (tag 0x22), then the name's length (29): node names and the doc string differ.
        const string opType = "\u0022\u001DMatMulBlockQuantizedFp8Weight";
        int nodes = (text.Length - text.Replace(opType, "", StringComparison.Ordinal).Length) / opType.Length;
        Assert.Equal(weights.Count, nodes);
        Assert.DoesNotContain("MatMulNBits", text, StringComparison.Ordinal);
        Assert.Equal((int)OnnxType.Float16, all.Single(i => i.Name == WeightLayout.TokenEmbedding).DataType);

        // ONNX Runtime checks the graph against the operator's schema (types, inputs, attributes) before it looks for kernels:
        // on the CPU provider the only complaint left must be the missing kernel.
        OnnxRuntimeException e = Assert.Throws<OnnxRuntimeException>(() => new InferenceSession(graph).Dispose());
        output.WriteLine(e.Message);
        Assert.Contains("Could not find an implementation for MatMulBlockQuantizedFp8Weight", e.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// fp8's weights widened on the CPU against fp32, beside int8 and int4 (MatMulNBits at fp32 compute, accuracy_level 0, so
    /// that only the weights' rounding differs): E4M3's 3 mantissa bits round a weight by up to 1/16 of itself, about 2.4% rms,
    /// between int8's 0.5% and int4's 8% of a block's spread, and so are the logits'. Measured relative logit errors on this
    /// model (printed): int8 0.0086, fp8 0.043, int4 0.13 untied (tied alike). The test fails when fp8's error is not between
    /// the two, is above 0.1, or is zero (the weights not rounded at all).
    /// </summary>
    [Fact]
    public void Widened_fp8_weights_give_logits_between_int8_and_int4_in_error()
    {
        foreach (bool tied in new[] { false, true })
        {
            DecoderConfig c = Tiny(tied);
            const int batch = 2, promptTokens = 6, newTokens = 1;
            long[] prompt = new GenerateSettings { Model = c, PromptTokens = promptTokens, DType = TensorDType.Float32 }
                .Prompt(batch, seed: 3);
            (_, float[][] reference) = DecoderTestSupport.GenerateOnnx(c, batch, prompt, promptTokens, newTokens, Seed);
            double Error(WeightQuantization q) => DecoderTestSupport.RelativeError(
                DecoderTestSupport.GenerateOnnx(c, batch, prompt, promptTokens, newTokens, Seed, quant: q).Logits[0], reference[0]);
            double int8 = Error(new WeightQuantization(8, 32, false, 0)), int4 = Error(new WeightQuantization(4, 32, false, 0));
            double fp8 = Error(Fp8 with { Widened = true });
            output.WriteLine($"tied={tied}: relative logit error int8 {int8:g3}, fp8 {fp8:g3}, int4 {int4:g3}");
            Assert.True(int8 < fp8 && fp8 < int4 && fp8 < 0.1, $"tied={tied}: int8 {int8:g3}, fp8 {fp8:g3}, int4 {int4:g3}");
            Assert.True(fp8 > 0, "logits identical to fp32, so the weights were not rounded to fp8");
        }
    }

    [Fact]
    public void A_cpu_run_of_fp8_is_refused_by_name()
    {
        HarnessException e = Assert.Throws<HarnessException>(() => DecoderTestSupport.Decoder(Tiny(), 1, 16, quant: Fp8));
        Assert.Equal(ExitCodes.BadInput, e.ExitCode);
        Assert.Contains("--dtype fp8 needs onnx:cuda", e.Message);
    }
}
