using System.Diagnostics;
using System.Globalization;
using Harness.Backends;
using Harness.Models;
using Harness.Onnx.Decoder.Quantization;

// quant-accuracy MODEL [PROMPTS] [PROMPT_TOKENS] [THREADS]: top-1 agreement and mean KL(fp32 || quantized)
// of int8 and int4 (block 32; symmetric, and int4 with zero points) and fp8 (e4m3, block 128, widened at load: the CPU
// provider has no fp8 kernel, so its products see fp8's weights in fp32) against fp32, as a Markdown table on stdout.
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
string model = args.Length > 0 ? args[0] : "llama-1b";
int prompts = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 200;
int promptTokens = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 16;
int? threads = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : null;
DecoderConfig c = ModelCatalog.Load(model);
// accuracy_level 4 (int8 compute, the default) for int8, int4 and int4 with zero points, at block 32;
// LEVELS="4,0" adds fp32 compute (slow on CPU), BLOCKS="32,64,128" other blocks (fp8 keeps 128 unless BLOCKS is given),
// KINDS="int4" fewer formats.
int[] Ints(string name, string fallback) => (Environment.GetEnvironmentVariable(name) ?? fallback).Split(',')
    .Select(l => int.Parse(l, CultureInfo.InvariantCulture)).ToArray();
int[] levels = Ints("LEVELS", "4"), blocks = Ints("BLOCKS", "32");
string[] kinds = (Environment.GetEnvironmentVariable("KINDS") ?? "int8,int4,int4-zp,fp8").Split(',');
bool blocksGiven = Environment.GetEnvironmentVariable("BLOCKS") is not null;
WeightQuantization[] formats =
[
    .. from l in levels
    from b in blocks
    from k in kinds
    select k switch
    {
        "int8" => new WeightQuantization(8, b, false, l),
        "int4" => new WeightQuantization(4, b, false, l),
        "int4-zp" => new WeightQuantization(4, b, true, l),
        "fp8" => new WeightQuantization(8, blocksGiven ? b : WeightQuantization.Float8DefaultBlock, false, 0)
        {
            Float8 = true, Widened = true,
        },
        _ => throw new ArgumentException($"KINDS takes int8, int4, int4-zp and fp8, not '{k}'."),
    },
];
formats = [.. formats.Distinct()];
var sw = Stopwatch.StartNew();
IReadOnlyList<QuantAccuracyRow> rows = QuantAccuracy.Measure(
    c, formats, prompts, promptTokens, seed: 42, GenerateSettings.DefaultWeightSeed, threads, Console.Error);
Console.WriteLine($"{c.Name}, seeded weights (seed {GenerateSettings.DefaultWeightSeed}), {prompts} seeded prompts of {promptTokens} "
    + $"random tokens (seed 42), next-token distribution after each prompt; onnx:cpu; {sw.Elapsed.TotalSeconds:0} s");
Console.WriteLine();
Console.WriteLine("| weights | prompts | top-1 agreement with fp32 | mean KL(fp32 \\|\\| quant), nats | max KL, nats |");
Console.WriteLine("|---|---:|---:|---:|---:|");
foreach (QuantAccuracyRow r in rows)
{
    Console.WriteLine($"| {r.Format} | {r.Prompts} | {r.Top1Agreement:0.000} | {r.MeanKl:0.000000} | {r.MaxKl:0.000000} |");
}
