using Harness.Backends;
using Harness.Decoding;
using Harness.Metrics;
using Harness.Models;
using Harness.Models.Formats;

namespace Harness.Tests.Decoding;

/// <summary>The one builder of a decoder's options, for run generate, serve and the agents' --llm-set.</summary>
public class DecoderOptionsTests
{
    private static KeyValuePair<string, string> Kv(string key, string value) => new(key, value);

    [Fact]
    public void Build_parses_the_typed_options_once_and_keeps_the_settings_apart()
    {
        var spin = new Dictionary<string, string> { ["spin"] = "0" };
        WorkloadOptions o = DecoderOptions.Build("tiny-gpt2-test", "bf16", 2, "/opt/libtorch", spin);
        Assert.Equal(("tiny-gpt2-test", TensorDType.BFloat16, 2, "/opt/libtorch"), (o.ModelConfig!.Name, o.DType, o.Threads, o.LibTorch));
        Assert.Equal("0", o.Extra["spin"]);

        WorkloadOptions none = DecoderOptions.Build(null, null, null, null, new Dictionary<string, string>());
        Assert.Equal((null, null, null, null), (none.ModelConfig, none.DType, none.Threads, none.LibTorch));
    }

    [Theory]
    [InlineData("no-such-model", null, null, "Unknown model config 'no-such-model'")]
    [InlineData(null, "int3", null, "Unknown dtype 'int3'")]
    [InlineData(null, null, 0, "--threads must be at least 1.")]
    public void Build_refuses_a_bad_typed_option(string? model, string? dtype, int? threads, string expected)
    {
        var e = Assert.Throws<HarnessException>(() => DecoderOptions.Build(model, dtype, threads, null, new Dictionary<string, string>()));
        Assert.Equal(ExitCodes.BadInput, e.ExitCode);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Settings_refuse_a_key_that_has_an_option_of_its_own()
    {
        Assert.Equal("3", DecoderOptions.Settings([Kv("weight_seed", "3")])["weight_seed"]);
        Assert.Equal(
            "--set prompt-tokens is an option of its own: use --prompt-tokens 8.",
            Assert.Throws<HarnessException>(() => DecoderOptions.Settings([Kv("prompt-tokens", "8")])).Message);
    }

    [Fact]
    public void Llm_settings_type_the_decoder_keys_and_pass_the_rest_on()
    {
        WorkloadOptions o = DecoderOptions.FromLlmSettings(
            [Kv("model_config", "tiny-gpt2-test"), Kv("threads", "1"), Kv("dtype", "fp32"), Kv("weight_seed", "7")]);
        Assert.Equal(("tiny-gpt2-test", 1, TensorDType.Float32), (o.ModelConfig!.Name, o.Threads, o.DType));
        Assert.Equal(["weight_seed"], o.Extra.Keys);
        var threads = Assert.Throws<HarnessException>(() => DecoderOptions.FromLlmSettings([Kv("threads", "0")]));
        Assert.Contains("must be an integer of at least 1", threads.Message);
        var tokens = Assert.Throws<HarnessException>(() => DecoderOptions.FromLlmSettings([Kv("new_tokens", "4")]));
        Assert.Contains("set their own prompt", tokens.Message);
    }

    [Fact]
    public void The_llm_choice_parses_its_backend_once()
    {
        LlmChoice decoder = LlmChoice.For("onnx:cpu", [Kv("spin", "0")], contextGiven: false, new LatencyModelOptions());
        Assert.Equal(
            (BackendSpec.Parse("onnx:cpu"), "onnx:cpu", false, false),
            (decoder.Spec, decoder.Backend, decoder.IsLatencyModel, decoder.IsRemote));

        LlmChoice server = LlmChoice.For("openai:http://127.0.0.1:9/v1", [], contextGiven: true, new LatencyModelOptions());
        Assert.Equal(("http://127.0.0.1:9/v1", true), (server.Spec!.Target, server.IsRemote));

        LlmChoice model = LlmChoice.For("latency-model", [], contextGiven: false, new LatencyModelOptions(TtftMs: 5, TpotMs: 1));
        Assert.Equal((null, "latency-model", true, 5.0), (model.Spec, model.Backend, model.IsLatencyModel, model.Model!.TtftMs));

        Assert.Contains("Unknown LLM backend 'onnx'", Assert.Throws<HarnessException>(() => LlmChoice.ParseBackend("onnx")).Message);
        Assert.Contains("are for --llm latency-model", Assert.Throws<HarnessException>(
            () => LlmChoice.For("onnx:cpu", [], false, new LatencyModelOptions(Preset: "h100-gpt2"))).Message);
    }

    [Fact]
    public void The_agents_tokenizer_goes_to_a_server_and_is_refused_for_a_decoder_in_this_process()
    {
        LlmChoice server = LlmChoice.For("openai:http://127.0.0.1:9/v1", [Kv("tokenizer", "/m/tokenizer.json")], false, new());
        Assert.Equal("/m/tokenizer.json", server.Options.TokenizerPath);
        Assert.False(server.Options.Extra.ContainsKey("tokenizer"));
        HarnessException e = Assert.Throws<HarnessException>(
            () => LlmChoice.For("onnx:cpu", [Kv("tokenizer", "/m/tokenizer.json")], false, new LatencyModelOptions()));
        Assert.Equal(ExitCodes.BadInput, e.ExitCode);
        Assert.Contains("openai:URL", e.Message);
    }

    /// <summary>
    /// The one rule for the weights' quantization: --dtype int4|int8 as given; without --dtype, a q4_0 GGUF file's matrices
    /// as stored (int4, said so) on a backend whose decoders take int8/int4 weights (its settings have quant_block) and convert
    /// the file; none with --dtype fp32, on a backend without quantized products (torch), on one that runs the file itself
    /// (llama.cpp), or for a seeded shape.
    /// </summary>
    [Fact]
    public void Without_dtype_a_quantized_gguf_file_runs_as_stored_where_the_backend_takes_int_weights()
    {
        string dir = Directory.CreateTempSubdirectory("harness-auto-quant-").FullName;
        try
        {
            DecoderConfig c = ModelCatalog.Parse("""
                { "name": "tiny-auto", "architecture": "llama", "hidden": 64, "intermediate": 192, "layers": 1,
                  "heads": 4, "kv_heads": 2, "vocab": 256, "max_positions": 64 }
                """);
            string path = Path.Combine(dir, "q4.gguf");
            using (var gen = new WeightGenerator(1, c.Layers))
            {
                ModelExport.Write(c, TensorDType.Float32, ExportFormat.Gguf, path, gen, ggufMatrices: TensorElement.Q4Zero);
            }

            var file = new WorkloadOptions { ModelConfig = ModelCatalog.Load(path) };
            SettingsSchema takesInt = SettingsSchema.None.With([.. WeightQuantization.Keys]);
            var onnx = new Provider(takesInt, runsFile: false);
            WeightQuantization? auto = DecoderOptions.Quantization(file, onnx);
            Assert.Equal((4, 32, true), (auto?.Bits, auto?.Block, auto?.AsStored));
            Assert.Null(DecoderOptions.Quantization(file with { DType = TensorDType.Float32 }, onnx));
            Assert.Null(DecoderOptions.Quantization(file, new Provider(SettingsSchema.None, runsFile: false)));
            Assert.Null(DecoderOptions.Quantization(file, new Provider(takesInt, runsFile: true)));
            Assert.Null(DecoderOptions.Quantization(new WorkloadOptions { ModelConfig = c }, onnx));
            var int8 = new WeightQuantization(8, 32, false, 4);
            Assert.Same(int8, DecoderOptions.Quantization(file with { Quantization = int8 }, onnx));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>--dtype fp8: E4M3 weights with fp32 scales per block of 128 (8.25 bits), another block by --set, the dtype slot left
    /// to the backend's float type; MatMulNBits' own keys refused by name.</summary>
    [Fact]
    public void Fp8_is_a_weight_quantization_with_blocks_of_128_by_default()
    {
        WorkloadOptions o = DecoderOptions.Build("tiny-llama-test", "fp8", null, null, new Dictionary<string, string>());
        Assert.Null(o.DType);
        WeightQuantization q = o.Quantization!;
        Assert.Equal(("fp8", true, 128, false, 1 + (4.0 / 128)), (q.Name, q.Float8, q.Block, q.ZeroPoints, q.BytesPerWeight(16)));
        Assert.Equal("com.microsoft MatMulBlockQuantizedFp8Weight", q.Operator);
        Assert.Equal("fp8 e4m3, block 128, fp32 scales", q.Describe());
        Assert.Equal(4.0, (q with { Widened = true }).BytesPerWeight(32));
        Assert.Equal(64, WeightQuantization.Parse("FP8", new Dictionary<string, string> { ["quant_block"] = "64" })!.Block);
        Assert.Null(WeightQuantization.Parse("fp16", new Dictionary<string, string>()));
        Assert.Equal(32, WeightQuantization.Parse("int4", new Dictionary<string, string>())!.Block);
        HarnessException e = Assert.Throws<HarnessException>(
            () => WeightQuantization.Parse("fp8", new Dictionary<string, string> { ["quant_zero_points"] = "1" }));
        Assert.Equal(ExitCodes.BadInput, e.ExitCode);
        Assert.Contains(
            "(weight-only quantization) is for decoders", Assert.Throws<HarnessException>(() => TensorDTypes.Parse("fp8")).Message);

        // What the result says: the weights' dtype fp8, the activations' fp16, 8.25 bits a weight, no MatMulNBits accuracy level.
        Dictionary<string, object?> details = GenerateSettings.DescribeModel(o.ModelConfig!, TensorDType.Float16, 1, q);
        Assert.Equal(
            ("fp8", "fp16", 8.25),
            (details[ConfigKeys.Dtype], details[ConfigKeys.KvDtype], details[ConfigKeys.QuantBitsPerWeight]));
        Assert.False(details.ContainsKey(ConfigKeys.AccuracyLevel));
        Assert.Contains(
            "weight-only (com.microsoft MatMulBlockQuantizedFp8Weight; scales in fp32)", (string)details[ConfigKeys.WeightQuantization]!);
    }

    private sealed class Provider(SettingsSchema settings, bool runsFile) : IDecoderProvider
    {
        public SettingsSchema DecoderSettings => settings;

        public bool RunsFileWeightsAsStored => runsFile;

        public TensorDType DefaultDType(BackendSpec backend) => TensorDType.Float32;

        public IStepDecoder CreateDecoder(BackendSpec backend, WorkloadOptions options, DecoderSpec spec) =>
            throw new NotSupportedException("the rule is checked without a decoder");
    }
}
