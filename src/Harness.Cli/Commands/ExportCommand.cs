using System.CommandLine;
using System.Diagnostics;
using Harness.Backends;
using Harness.Models;
using Harness.Models.Formats;

namespace Harness.Cli.Commands;

/// <summary>
/// <c>harness export --model-config NAME --format hf|gguf|onnx --out PATH</c>: the weights <c>run generate
/// --model-config NAME</c> runs (seeded, or read from a model on disk) as a Hugging Face folder, a GGUF
/// file or an Optimum ONNX folder, so that other engines can serve exactly them; <c>run generate --model PATH</c> reads them back.
/// </summary>
public static class ExportCommand
{
    public static Command Create(TextWriter output)
    {
        var modelConfig = new Option<string>("--model-config")
        {
            Description = "The model: a name in models/ (tiny-llama-test, llama-1b, gpt2-124m...) or a .json path (seeded weights), "
                + "or a Hugging Face folder or GGUF file (converted).",
            Required = true,
        };
        var format = new Option<string>("--format") { Description = "hf (a Hugging Face folder: config.json, model.safetensors, "
            + "tokenizer), gguf (one file), onnx (an Optimum folder: model.onnx with past, model.onnx_data, config and tokenizer) or "
            + "genai (the onnx folder with onnxruntime-genai's genai_config.json).",
            Required = true };
        var outPath = new Option<string>("--out", "-o") { Description = "The folder (hf, onnx, genai) or file (gguf) to write; must not "
            + "exist.", Required = true };
        var dtype = new Option<string?>("--dtype") { Description = "fp32 (default), fp16; bf16 for hf only; q8_0, q4_0, q4_K, q4_K_M or "
            + "q6_K for gguf only (llama.cpp's blocks; norms and biases f32; the k-quants need rows of whole 256-value blocks)." };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "gpt2 (default: a byte-level BPE cut from GPT-2's) or spm "
            + "(a SentencePiece-style BPE with byte fallback, Llama 2's layout; vocabularies of 259 ids and more)." };
        var set = new Option<string[]>("--set") { Description = "weight_seed=N: the seed of the generated weights (as for run generate; "
            + "default 1234)." };
        var command = new Command("export", "Write a model's weights (the seeded ones run generate uses) as a Hugging Face folder, a "
            + "GGUF file or an Optimum ONNX folder, with a tokenizer and chat template.")
        {
            modelConfig, format, outPath, dtype, tokenizer, set,
        };
        command.SetAction(parse =>
        {
            Dictionary<string, string> settings = OptionParsers.Settings(parse.GetValue(set)).ToDictionary(kv => kv.Key, kv => kv.Value);
            if (settings.Keys.FirstOrDefault(k => k != GenerateSettings.WeightSeedKey.Name) is { } unknown)
            {
                throw HarnessException.BadInput($"export knows --set {GenerateSettings.WeightSeedKey.Name}=N only, not {unknown}.");
            }

            ExportFormat f = ModelExport.ParseFormat(parse.GetValue(format)!);
            ExportTokenizer kind = parse.GetValue(tokenizer) is { } k ? ModelExport.ParseTokenizer(k) : ExportTokenizer.Gpt2;
            TensorElement? blocks = ModelExport.GgufBlocks(parse.GetValue(dtype));
            TensorDType type = blocks is null && parse.GetValue(dtype) is { } d ? TensorDTypes.Parse(d) : TensorDType.Float32;
            DecoderConfig c = ModelCatalog.Load(parse.GetValue(modelConfig)!);
            string path = parse.GetValue(outPath)!;
            var sw = Stopwatch.StartNew();
            using (IWeightSource weights = ModelWeights.Open(c, GenerateSettings.WeightSeedOf(settings)))
            {
                Action<string>? graph = f is ExportFormat.Onnx or ExportFormat.Genai
                    ? Harness.Onnx.Decoder.OptimumGraph.GraphWriter(c, type, weights)
                    : null;
                bool medium = ModelExport.IsQ4KMedium(parse.GetValue(dtype));
                ModelExport.Write(c, type, f, path, weights, ggufMatrices: blocks, tokenizer: kind, onnxGraph: graph, q4KMedium: medium);
                string written = medium ? "q4_K_M" : blocks?.Name() ?? type.ShortName();
                output.WriteLine($"wrote {c.Name} ({written}, weights from {weights.Description}) as {parse.GetValue(format)} to "
                    + $"{path} in {sw.Elapsed.TotalSeconds:0.0}s");
            }

            return ExitCodes.Ok;
        });
        return command;
    }
}
