using System.Globalization;

namespace Harness.Serving.Bench;

/// <summary>One cell of the table: a model with its prompt and new tokens, on a backend, at a concurrency.</summary>
internal sealed record Cell(string Model, int PromptTokens, int NewTokens, string Backend, int Concurrency, int Requests)
{
    public override string ToString() => $"{Model} {Backend} C={Concurrency}";
}

/// <summary>The bench's options (bench/README.md); a bad one is a <see cref="FormatException"/> with one sentence (exit 2).</summary>
internal sealed record BenchOptions
{
    /// <summary>
    /// Prompt tokens, new tokens and measured requests of a model listed without its own lengths, unless
    /// --prompt-tokens, --new-tokens, --requests say otherwise (llama-1b decodes ~5-7 tokens/s at fp32 on 2 cores).
    /// </summary>
    private static readonly Dictionary<string, (int Prompt, int New, int Requests)> ModelDefaults = new(StringComparer.Ordinal)
    {
        ["gpt2-124m"] = (128, 32, 8),
        ["llama-1b"] = (64, 16, 7),
    };

    public string Dotnet { get; init; } = "dotnet";

    public string Harness { get; init; } = "src/Harness.Cli/bin/Release/net10.0/harness.dll";

    public string[] Backends { get; init; } = ["onnx:cpu"];

    /// <summary>NAME or NAME:PROMPT:NEW.</summary>
    public string[] Models { get; init; } = ["gpt2-124m", "llama-1b"];

    public int? PromptTokens { get; init; }

    public int? NewTokens { get; init; }

    /// <summary>
    /// Sequences measured per side, cell and repetition: max(<see cref="MinRounds"/>, ceil(R / C)) rounds of C; null: the model's default.
    /// </summary>
    public int? Requests { get; init; }

    public int WarmupRounds { get; init; } = 1;

    /// <summary>
    /// Warm-up time per side and repetition, both sides alike (<c>--warmup</c> of run generate, in-process and
    /// the client's): the server's HTTP, JSON and tokenizer code is JIT-compiled and tiered up in it, not in the
    /// measured window (after one warm-up round the runtime's tiering thread still took ~0.4 ms of CPU per token
    /// there). "0s": --warmup-rounds rounds instead.
    /// </summary>
    public string Warmup { get; init; } = "10s";

    public int Reps { get; init; } = 3;

    public int[] Concurrency { get; init; } = [1, 8];

    public int? Threads { get; init; }

    /// <summary>The runtimes' worker threads spin between ops (true) or sleep (false, <c>--set spin=0</c>), on both sides.</summary>
    public bool Spin { get; init; }

    /// <summary>
    /// serve's <c>--batch-window</c>: a round's requests join one iteration, as generate's batch does. It
    /// costs nothing once all C have arrived (they fill the free slots), so it is long enough for a loaded
    /// machine: a request that joined late would stay one iteration behind the others for the whole run.
    /// </summary>
    public string BatchWindow { get; init; } = "500ms";

    /// <summary>The Markdown file; null: results/&lt;machine&gt;/serving-tax_&lt;date&gt;.md; "-": stdout only.</summary>
    public string? Out { get; init; }

    public static BenchOptions Parse(string[] args)
    {
        var o = new BenchOptions();
        for (int i = 0; i < args.Length; i += 2)
        {
            if (i + 1 >= args.Length)
            {
                throw new FormatException($"option {args[i]} needs a value.");
            }

            string v = args[i + 1];
            o = args[i] switch
            {
                "--dotnet" => o with { Dotnet = v },
                "--harness" => o with { Harness = v },
                "--backends" or "--backend" => o with { Backends = List(v) },
                "--models" or "--model-config" => o with { Models = List(v) },
                "--prompt-tokens" => o with { PromptTokens = Positive(args[i], v) },
                "--new-tokens" => o with { NewTokens = Positive(args[i], v) },
                "--requests" => o with { Requests = Positive(args[i], v) },
                "--warmup-rounds" => o with { WarmupRounds = Positive(args[i], v) },
                "--warmup" => o with { Warmup = v },
                "--reps" => o with { Reps = Positive(args[i], v) },
                "--concurrency" => o with { Concurrency = [.. List(v).Select(s => Positive(args[i], s))] },
                "--threads" => o with { Threads = Positive(args[i], v) },
                "--spin" => o with { Spin = v is "1" or "true" },
                "--batch-window" => o with { BatchWindow = v },
                "--out" => o with { Out = v },
                _ => throw new FormatException($"unknown option {args[i]} (see bench/README.md)."),
            };
        }

        _ = o.Cells().ToList();
        return o;
    }

    /// <summary>Every cell, model by model, then backend, then concurrency.</summary>
    public IEnumerable<Cell> Cells()
    {
        foreach (string entry in Models)
        {
            string[] p = entry.Split(':');
            if (p.Length is not (1 or 3))
            {
                throw new FormatException($"--models entry '{entry}' is not NAME or NAME:PROMPT:NEW.");
            }

            (int prompt, int @new, int requests) = ModelDefaults.GetValueOrDefault(p[0], (128, 32, 8));
            prompt = p.Length == 3 ? Positive("--models", p[1]) : PromptTokens ?? prompt;
            @new = p.Length == 3 ? Positive("--models", p[2]) : NewTokens ?? @new;
            if (@new < 2)
            {
                throw new FormatException($"{p[0]} needs at least 2 new tokens (TPOT is over the tokens after the first).");
            }

            foreach (string backend in Backends)
            {
                foreach (int c in Concurrency)
                {
                    yield return new Cell(p[0], prompt, @new, backend, c, Requests ?? requests);
                }
            }
        }
    }

    /// <summary>
    /// The fewest measured rounds per side: what the tail rule needs for p50 with no miss (7), so that the in-process
    /// side, whose request is a round of C sequences, is not judged invalid (enough_samples_p50) at C above 1.
    /// </summary>
    public static readonly int MinRounds = (int)global::Harness.Engine.TailRule.Needed(0.5, 0);

    /// <summary>Measured rounds of C sequences per side.</summary>
    public static int Rounds(Cell cell) => Math.Max(MinRounds, (cell.Requests + cell.Concurrency - 1) / cell.Concurrency);

    /// <summary>run generate's warm-up options for one side: <see cref="Warmup"/>, else <paramref name="requests"/> requests.</summary>
    public IEnumerable<string> WarmupArgs(int requests) =>
        Warmup is "0" or "0s" ? ["--warmup-requests", requests.ToString(CultureInfo.InvariantCulture)] : ["--warmup", Warmup];

    /// <summary>The decoder's options, the same for <c>run generate</c> and <c>serve</c>.</summary>
    public IEnumerable<string> DecoderArgs(Cell cell)
    {
        yield return "--backend";
        yield return cell.Backend;
        yield return "--model-config";
        yield return cell.Model;
        if (Threads is { } t)
        {
            yield return "--threads";
            yield return t.ToString(CultureInfo.InvariantCulture);
        }

        if (!Spin)
        {
            yield return "--set";
            yield return "spin=0";
        }
    }

    private static string[] List(string v) => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static int Positive(string option, string v) =>
        int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n > 0
            ? n
            : throw new FormatException($"{option} takes a positive whole number, not '{v}'.");
}
