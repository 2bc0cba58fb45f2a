using System.Globalization;
using System.Text.Json.Nodes;
using Harness.Backends;
using Harness.Decoding;
using Harness.GenAI.Bench;
using Harness.Hardware;
using Harness.Models;
using Harness.Models.Formats;
using Harness.Onnx;
using Harness.Onnx.Decoder;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntimeGenAI;

// onnxruntime-genai beside the harness's loop on the same seeded weights (issue 27, item 8).
// Usage: Harness.GenAI.Bench --model-config NAME [--batch 1,8] [--prompt 64] [--new 64] [--reps 3] [--threads 2] [--loops 2|3]
//        [--dir DIR]
// Exit 0 when every loop gave GenAI's greedy tokens, 1 when one did not, 2 on bad input.
var opt = new Dictionary<string, string>(StringComparer.Ordinal);
for (int i = 0; i + 1 < args.Length; i += 2)
{
    opt[args[i].TrimStart('-')] = args[i + 1];
}

int Int(string key, int fallback) => opt.TryGetValue(key, out string? v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
string name = opt.GetValueOrDefault("model-config", "tiny-llama-test");
int[] batches = opt.GetValueOrDefault("batch", "1").Split(',').Select(b => int.Parse(b, CultureInfo.InvariantCulture)).ToArray();
int promptTokens = Int("prompt", 64), newTokens = Int("new", 64), reps = Int("reps", 3), threads = Int("threads", 2);
const int Seed = 1234;

// ONNX Runtime (Gpu.Linux's library) first: GenAI then finds libonnxruntime.so.1 already loaded.
Console.WriteLine($"onnxruntime {OrtEnv.Instance().GetVersionString()} from {LoadedLibraries.PathOf("libonnxruntime.so")}");
DecoderConfig c = ModelCatalog.Load(name);
string dir = opt.GetValueOrDefault("dir") ?? Path.Combine(Path.GetTempPath(), $"harness-genai-{c.Name}-{c.ShapeHash()}-w{Seed}");
if (!Directory.Exists(dir))
{
    using var weights = new WeightGenerator(Seed, c.Layers);
    OptimumGraph.Export(c, TensorDType.Float32, dir, weights, ExportFormat.Genai);
}

// GenAI's session: the threads of the harness's (intra-op), one inter-op thread, on the CPU.
string configPath = Path.Combine(dir, ModelExport.GenAiConfigFile);
var genaiConfig = JsonNode.Parse(File.ReadAllText(configPath))!;
genaiConfig["model"]!["decoder"]!["session_options"]!["intra_op_num_threads"] = threads;
genaiConfig["model"]!["decoder"]!["session_options"]!["inter_op_num_threads"] = 1;
File.WriteAllText(configPath, genaiConfig.ToJsonString());

using var genai = new Model(dir);
var provider = new OnnxBackendProvider();
var options = new WorkloadOptions { Threads = threads };
DecoderConfig folder = ModelCatalog.Load(dir);
string[] libraries = File.ReadAllLines("/proc/self/maps").Where(l => l.Contains("libonnxruntime", StringComparison.Ordinal))
    .Select(l => l[(l.IndexOf('/', StringComparison.Ordinal))..]).Distinct().ToArray();
Console.WriteLine($"native onnxruntime libraries mapped: {string.Join(", ", libraries)}");
Console.WriteLine($"model {c.Name}, prompt {promptTokens}, new {newTokens}, threads {threads}, reps {reps}, "
    + $"load average before: {File.ReadAllText("/proc/loadavg").Trim()}");
bool allEqual = true;
foreach (int batch in batches)
{
    long[] prompt = new GenerateSettings { Model = c, PromptTokens = promptTokens, DType = TensorDType.Float32 }.Prompt(batch, seed: 3);
    var spec = new DecoderSpec
    {
        Model = c, DType = TensorDType.Float32, WeightSeed = Seed, Slots = batch, Context = promptTokens + newTokens,
    };
    using IStepDecoder own = provider.CreateDecoder(BackendSpec.Parse("onnx:cpu"), options, spec);
    // --loops 3 adds the harness's ConcatDecoder on the GenAI folder's own graph (a third copy of the weights in memory).
    using IStepDecoder? concat = Int("loops", 3) >= 3
        ? provider.CreateDecoder(BackendSpec.Parse("onnx:cpu"), options, spec with { Model = folder })
        : null;
    var loops = new List<(string Name, Func<(double Seconds, long[][] Tokens)> Run)>
    {
        ("harness (own GQA graph)", () => Loops.Harness(own, batch, prompt, promptTokens, newTokens)),
    };
    if (concat is not null)
    {
        loops.Add(("harness (the GenAI folder's graph)", () => Loops.Harness(concat, batch, prompt, promptTokens, newTokens)));
    }

    loops.Add(("onnxruntime-genai", () => Loops.GenAi(genai, batch, prompt, promptTokens, newTokens)));
    var rates = loops.Select(_ => new List<double>()).ToArray();
    long[][]? reference = null;
    for (int rep = -1; rep < reps; rep++)
    {
        // Rep -1 warms up (and checks the tokens); the order rotates each rep.
        for (int k = 0; k < loops.Count; k++)
        {
            int l = (k + Math.Max(rep, 0)) % loops.Count;
            (double seconds, long[][] tokens) = loops[l].Run();
            if (rep < 0)
            {
                reference ??= Loops.GenAi(genai, batch, prompt, promptTokens, newTokens).Tokens;
                bool equal = tokens.Zip(reference).All(p => p.First.SequenceEqual(p.Second));
                allEqual &= equal;
                Console.WriteLine($"batch {batch}: {loops[l].Name}: greedy tokens {(equal ? "equal to" : "DIFFER from")} GenAI's "
                    + $"(row 0: {string.Join(' ', tokens[0].Take(12))} ...)");
                continue;
            }

            rates[l].Add(batch * (newTokens - 1) / seconds);
        }
    }

    double Median(List<double> v) => v.Order().ElementAt(v.Count / 2);
    double genaiRate = Median(rates[^1]);
    for (int l = 0; l < loops.Count; l++)
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"batch {batch}: {loops[l].Name}: decode {Median(rates[l]):0.0} tok/s median of {reps} "
            + $"({string.Join(", ", rates[l].Select(r => r.ToString("0.0", CultureInfo.InvariantCulture)))}), "
            + $"{Median(rates[l]) / genaiRate:0.000}x GenAI"));
    }
}

Console.WriteLine($"load average after: {File.ReadAllText("/proc/loadavg").Trim()}");
return allEqual ? 0 : 1;
