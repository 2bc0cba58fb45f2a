using System.Globalization;

namespace Harness.Decoding;

/// <summary>
/// Builds a <see cref="LatencyModel"/> from what the command line says: a preset name, given numbers,
/// or a measured result file. The one place that knows the presets and checks the numbers.
/// </summary>
public static class LatencyModelSpec
{
    public static IReadOnlyDictionary<string, LatencyModel> Presets { get; } = new Dictionary<string, LatencyModel>(StringComparer.Ordinal)
    {
        ["h100-llama-1b"] = LatencyModel.H100Llama1B,
        ["h100-gpt2"] = LatencyModel.H100Gpt2,
    };

    public const string DefaultPreset = "h100-llama-1b";

    /// <summary>
    /// From the <c>--llm-*</c> options. A result file and given TTFT/TPOT exclude each other; TTFT and
    /// TPOT come together; with none of them the preset (default h100-llama-1b) is used.
    /// </summary>
    public static LatencyModel FromOptions(double? ttftMs, double? tpotMs, double? prefillMsPerToken, double? tpotMsPerSequence, string? resultFile, string? preset)
    {
        Check(prefillMsPerToken, "--llm-prefill-ms-per-token");
        Check(tpotMsPerSequence, "--llm-tpot-ms-per-seq");
        if (resultFile is not null)
        {
            if (ttftMs is not null || tpotMs is not null || preset is not null)
            {
                throw HarnessException.BadInput("--llm-result takes TTFT and TPOT from the file: leave out --llm-ttft-ms, --llm-tpot-ms and --llm-preset.");
            }

            return LatencyModel.FromResult(resultFile, prefillMsPerToken ?? 0, tpotMsPerSequence ?? 0);
        }

        if (ttftMs is not null || tpotMs is not null)
        {
            if (ttftMs is null || tpotMs is null)
            {
                throw HarnessException.BadInput("--llm-ttft-ms and --llm-tpot-ms go together: give both.");
            }

            if (preset is not null)
            {
                throw HarnessException.BadInput("--llm-preset and --llm-ttft-ms/--llm-tpot-ms exclude each other.");
            }

            Check(ttftMs, "--llm-ttft-ms");
            Check(tpotMs, "--llm-tpot-ms");
            return new LatencyModel
            {
                TtftMs = ttftMs.Value,
                TpotMs = tpotMs.Value,
                PrefillMsPerToken = prefillMsPerToken ?? 0,
                TpotMsPerSequence = tpotMsPerSequence ?? 0,
                Source = string.Create(CultureInfo.InvariantCulture, $"given: ttft {ttftMs} ms, tpot {tpotMs} ms, prefill {prefillMsPerToken ?? 0} ms/token, {tpotMsPerSequence ?? 0} ms per extra sequence"),
            };
        }

        LatencyModel p = Preset(preset ?? DefaultPreset);
        return prefillMsPerToken is null && tpotMsPerSequence is null
            ? p
            : p with { PrefillMsPerToken = prefillMsPerToken ?? p.PrefillMsPerToken, TpotMsPerSequence = tpotMsPerSequence ?? p.TpotMsPerSequence };
    }

    /// <summary>
    /// A card for projections: <c>NAME</c> (a preset), <c>NAME=PRESET</c>, <c>NAME=RESULT.json</c> or
    /// <c>NAME=ttft:13.7,tpot:13.7[,prefill:0.0154][,tpot_per_seq:0.014]</c>.
    /// </summary>
    public static (string Name, LatencyModel Model) ParseCard(string text)
    {
        int eq = text.IndexOf('=');
        if (eq < 0)
        {
            return (text, Preset(text));
        }

        string name = text[..eq].Trim();
        string spec = text[(eq + 1)..].Trim();
        if (name.Length == 0 || spec.Length == 0)
        {
            throw HarnessException.BadInput($"--card '{text}' is not of the form NAME=ttft:X,tpot:Y or NAME=RESULT.json.");
        }

        if (spec.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
        {
            return (name, LatencyModel.FromResult(spec));
        }

        if (Presets.TryGetValue(spec, out LatencyModel? preset))
        {
            return (name, preset);
        }

        double? ttft = null, tpot = null, prefill = null, perSeq = null;
        foreach (string part in spec.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            string[] kv = part.Split(':', 2, StringSplitOptions.TrimEntries);
            if (kv.Length != 2 || !double.TryParse(kv[1], NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !double.IsFinite(v) || v < 0)
            {
                throw HarnessException.BadInput($"--card '{text}' has '{part}', which is not key:number with a number of at least 0.");
            }

            switch (kv[0])
            {
                case "ttft": ttft = v; break;
                case "tpot": tpot = v; break;
                case "prefill": prefill = v; break;
                case "tpot_per_seq": perSeq = v; break;
                default: throw HarnessException.BadInput($"--card '{text}' has an unknown key '{kv[0]}'; expected ttft, tpot, prefill, tpot_per_seq.");
            }
        }

        if (ttft is null || tpot is null)
        {
            throw HarnessException.BadInput($"--card '{text}' needs both ttft and tpot.");
        }

        return (name, FromOptions(ttft, tpot, prefill, perSeq, null, null) with
        {
            Source = string.Create(CultureInfo.InvariantCulture, $"card {name}: ttft {ttft} ms, tpot {tpot} ms, prefill {prefill ?? 0} ms/token, {perSeq ?? 0} ms per extra sequence"),
        });
    }

    public static LatencyModel Preset(string name) => Presets.TryGetValue(name, out LatencyModel? m)
        ? m
        : throw HarnessException.BadInput($"Unknown LLM preset '{name}'; known: {string.Join(", ", Presets.Keys)}, or give --llm-ttft-ms and --llm-tpot-ms, or --llm-result FILE.");

    private static void Check(double? v, string option)
    {
        if (v is { } x && (!double.IsFinite(x) || x < 0))
        {
            throw HarnessException.BadInput($"{option} must be a number of at least 0.");
        }
    }
}

/// <summary>The latency model's numbers as the <c>--llm-*</c> options give them (<see cref="LatencyModelSpec.FromOptions"/>).</summary>
public sealed record LatencyModelOptions(
    double? TtftMs = null,
    double? TpotMs = null,
    double? PrefillMsPerToken = null,
    double? TpotMsPerSequence = null,
    string? ResultFile = null,
    string? Preset = null)
{
    /// <summary>Whether any option that only the latency model takes was given.</summary>
    public bool AnyGiven => TtftMs is not null || TpotMs is not null || ResultFile is not null || Preset is not null;

    public LatencyModel Build() => LatencyModelSpec.FromOptions(TtftMs, TpotMs, PrefillMsPerToken, TpotMsPerSequence, ResultFile, Preset);
}
