using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Harness.Backends;
using Harness.Decoding;
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
    var spec = new DecoderSpec { Model = c, DType = TensorDType.Float32, WeightSeed = Seed, Slots = batch, Context = promptTokens + newTokens };
    using IStepDecoder own = provider.CreateDecoder(BackendSpec.Parse("onnx:cpu"), options, spec);
    // --loops 3 adds the harness's ConcatDecoder on the GenAI folder's own graph (a third copy of the weights in memory).
    using IStepDecoder? concat = Int("loops", 3) >= 3
        ? provider.CreateDecoder(BackendSpec.Parse("onnx:cpu"), options, spec with { Model = folder })
        : null;
    var loops = new List<(string Name, Func<(double Seconds, long[][] Tokens)> Run)>
    {
        ("harness (own GQA graph)", () => RunHarness(own, batch, prompt, promptTokens, newTokens)),
    };
    if (concat is not null)
    {
        loops.Add(("harness (the GenAI folder's graph)", () => RunHarness(concat, batch, prompt, promptTokens, newTokens)));
    }

    loops.Add(("onnxruntime-genai", () => RunGenAi(genai, batch, prompt, promptTokens, newTokens)));
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
                reference ??= RunGenAi(genai, batch, prompt, promptTokens, newTokens).Tokens;
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

// The harness's loop: one prefill of the batch, then newTokens - 1 decode steps (timed).
static (double Seconds, long[][] Tokens) RunHarness(IStepDecoder decoder, int batch, long[] prompt, int promptTokens, int newTokens)
{
    var sequences = Enumerable.Range(0, batch)
        .Select(b => new DecodeSequence(b, promptTokens, newTokens, prompt.AsMemory(b * promptTokens, promptTokens))).ToArray();
    var tokens = Enumerable.Range(0, batch).Select(_ => new long[newTokens]).ToArray();
    decoder.Step(sequences, [], CancellationToken.None);
    Collect(sequences, tokens, 0);
    var sw = Stopwatch.StartNew();
    for (int i = 1; i < newTokens; i++)
    {
        decoder.Step([], sequences, CancellationToken.None);
        Collect(sequences, tokens, i);
    }

    double seconds = sw.Elapsed.TotalSeconds;
    foreach (DecodeSequence s in sequences)
    {
        decoder.Release(s);
    }

    return (seconds, tokens);
}

static void Collect(DecodeSequence[] sequences, long[][] tokens, int step)
{
    for (int b = 0; b < sequences.Length; b++)
    {
        tokens[b][step] = sequences[b].LastToken;
    }
}

// GenAI's loop: AppendTokens runs the prompts; the first GenerateNextToken takes its token from their logits, each later one
// runs a decode step first (timed: newTokens - 1 of them, as the harness's).
static (double Seconds, long[][] Tokens) RunGenAi(Model model, int batch, long[] prompt, int promptTokens, int newTokens)
{
    using var parameters = new GeneratorParams(model);
    parameters.SetSearchOption("max_length", promptTokens + newTokens);
    parameters.SetSearchOption("batch_size", batch);
    using var generator = new Generator(model, parameters);
    generator.AppendTokens(prompt.Select(t => (int)t).ToArray());
    generator.GenerateNextToken();
    var sw = Stopwatch.StartNew();
    for (int i = 1; i < newTokens; i++)
    {
        generator.GenerateNextToken();
    }

    double seconds = sw.Elapsed.TotalSeconds;
    var tokens = new long[batch][];
    for (int b = 0; b < batch; b++)
    {
        ReadOnlySpan<int> sequence = generator.GetSequence((ulong)b);
        tokens[b] = sequence[promptTokens..].ToArray().Select(t => (long)t).ToArray();
    }

    return (seconds, tokens);
}
