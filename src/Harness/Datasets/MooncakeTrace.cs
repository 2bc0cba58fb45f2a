using System.Globalization;
using System.Text;
using System.Text.Json;
using Harness.Agents.Jobs;
using Harness.Decoding;
using Harness.Engine.Scenarios;
using Harness.Metrics;

namespace Harness.Datasets;

/// <summary>
/// A Mooncake trace (JSONL, one request a line): <c>timestamp</c> (ms from the trace's start),
/// <c>input_length</c>, <c>output_length</c>, <c>hash_ids</c> (one id per block of <c>block</c> prompt
/// tokens, 512 by default: blocks with the same id get the same text, so a prefix cache sees the
/// recorded reuse), and for multi-turn sessions <c>session_id</c> and <c>delay</c> (ms after the
/// session's previous turn ended). A later turn's own text is its new user message; the session's
/// history (earlier turns and the live replies) is sent before it at run time, so its
/// <c>input_length</c> counts the new text only (AIPerf's delta mode).
/// </summary>
public sealed class MooncakeTrace : PromptDataset
{
    public const int DefaultBlockTokens = 512;

    private readonly List<PromptItem> _items;

    private MooncakeTrace(string spec, List<PromptItem> items, int blockTokens, bool exact, int sharedBlocks)
    {
        Spec = spec;
        _items = items;
        BlockTokens = blockTokens;
        Exact = exact;
        SharedBlocks = sharedBlocks;
    }

    public override string Spec { get; }

    public override int Count => _items.Count;

    public int BlockTokens { get; }

    /// <summary>Block references that repeat an earlier block's hash id (the reuse a perfect prefix cache would find).</summary>
    public int SharedBlocks { get; }

    public override bool HasSchedule => true;

    public IReadOnlyList<PromptItem> Items => _items;

    /// <summary>The schedule the trace scenario replays, entry by entry.</summary>
    public IReadOnlyList<TraceArrival> Arrivals() => _items.Select(i => new TraceArrival(i.ArrivalS, i.Session, i.DelayS)).ToList();

    public override PromptItem Item(long index) => _items[(int)(index % _items.Count)];

    public override Dictionary<string, object?> Details()
    {
        Dictionary<string, object?> d = base.Details();
        d[ConfigKeys.TraceBlockTokens] = BlockTokens;
        d[ConfigKeys.TraceSharedBlocks] = SharedBlocks;
        d[ConfigKeys.TraceSessions] = _items.Where(i => i.Session is not null).Select(i => i.Session).Distinct().Count();
        d[ConfigKeys.TraceSpanS] = _items.Max(i => i.ArrivalS ?? 0);
        return d;
    }

    /// <summary>Only the schedule of a trace (<c>FILE[,block=N]</c>): times, sessions and delays, without building any prompt.</summary>
    public static IReadOnlyList<TraceArrival> ReadArrivals(string args)
    {
        string spec = "trace:" + args;
        (string file, _) = FileAndSettings(spec, args);
        var arrivals = new List<TraceArrival>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        int lineNumber = 0;
        foreach (string line in File.ReadLines(file))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            try
            {
                using var doc = JsonDocument.Parse(line);
                JsonElement e = doc.RootElement;
                double? timestampMs = Double(e, "timestamp", file, lineNumber);
                string? session = e.TryGetProperty("session_id", out JsonElement sid) && sid.ValueKind is JsonValueKind.String or JsonValueKind.Number ? sid.ToString() : null;
                bool followUp = session is not null && !seen.Add(session);
                if (!followUp && timestampMs is null && session is null)
                {
                    throw HarnessException.BadInput($"Trace '{file}' line {lineNumber} has no timestamp (ms); only a later turn of a session may go without one.");
                }

                arrivals.Add(new TraceArrival(
                    followUp ? (timestampMs is { } later ? later / 1000 : null) : (timestampMs ?? 0) / 1000,
                    session,
                    (Double(e, "delay", file, lineNumber) ?? 0) / 1000));
            }
            catch (JsonException x)
            {
                throw HarnessException.BadInput($"Trace '{file}' line {lineNumber} is not valid JSON: {x.Message}");
            }
        }

        return arrivals.Count > 0 ? arrivals : throw HarnessException.BadInput($"Trace '{file}' has no request.");
    }

    public static MooncakeTrace Load(string spec, string args, int seed, ITokenCounter? tokenizer)
    {
        (string file, List<string> parts) = FileAndSettings(spec, args);
        Dictionary<string, string> s = Settings(spec, parts, "block");
        int block = (int)Number(spec, s, "block", DefaultBlockTokens, 1);
        var blocks = new Dictionary<long, string>();
        var seenSessions = new HashSet<string>(StringComparer.Ordinal);
        var items = new List<PromptItem>();
        int shared = 0, lineNumber = 0;
        foreach (string line in File.ReadLines(file))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            JsonElement e;
            try
            {
                using var doc = JsonDocument.Parse(line);
                e = doc.RootElement.Clone();
            }
            catch (JsonException x)
            {
                throw HarnessException.BadInput($"Trace '{file}' line {lineNumber} is not valid JSON: {x.Message}");
            }

            int input = Int(e, "input_length", file, lineNumber, required: true, min: 1)!.Value;
            int output = Int(e, "output_length", file, lineNumber, required: true, min: 1)!.Value;
            double? timestampMs = Double(e, "timestamp", file, lineNumber);
            double delayMs = Double(e, "delay", file, lineNumber) ?? 0;
            string? session = e.TryGetProperty("session_id", out JsonElement sid) && sid.ValueKind is JsonValueKind.String or JsonValueKind.Number ? sid.ToString() : null;
            bool followUp = session is not null && !seenSessions.Add(session);
            if (!followUp && timestampMs is null && session is null)
            {
                throw HarnessException.BadInput($"Trace '{file}' line {lineNumber} has no timestamp (ms); only a later turn of a session may go without one.");
            }

            var text = new StringBuilder();
            int covered = 0;
            if (e.TryGetProperty("hash_ids", out JsonElement ids) && ids.ValueKind == JsonValueKind.Array)
            {
                foreach (JsonElement id in ids.EnumerateArray())
                {
                    if (covered >= input)
                    {
                        break;
                    }

                    if (!id.TryGetInt64(out long hash))
                    {
                        throw HarnessException.BadInput($"Trace '{file}' line {lineNumber} has a hash id that is not an integer.");
                    }

                    int tokens = Math.Min(block, input - covered);
                    if (!blocks.TryGetValue(hash, out string? full))
                    {
                        full = SyntheticText.Of(block, Seeds.Mix(seed, hash, 3), tokenizer);
                        blocks[hash] = full;
                    }
                    else
                    {
                        shared++;
                    }

                    text.Append(tokens == block ? full : SyntheticText.Of(tokens, Seeds.Mix(seed, hash, 3), tokenizer));
                    covered += tokens;
                }
            }

            if (covered < input)
            {
                text.Append(SyntheticText.Of(input - covered, Seeds.Mix(seed, lineNumber, 5), tokenizer));
            }

            items.Add(new PromptItem
            {
                Messages = [LlmMessage.User(text.ToString())],
                InputTokens = input,
                OutputTokens = output,
                ArrivalS = followUp ? (timestampMs is { } later ? later / 1000 : null) : (timestampMs ?? 0) / 1000,
                Session = session,
                DelayS = delayMs / 1000,
            });
        }

        return items.Count > 0
            ? new MooncakeTrace(spec, items, block, tokenizer is not null, shared)
            : throw HarnessException.BadInput($"Trace '{file}' has no request.");
    }

    private static int? Int(JsonElement e, string name, string file, int line, bool required, int min)
    {
        if (!e.TryGetProperty(name, out JsonElement v) || v.ValueKind == JsonValueKind.Null)
        {
            return required ? throw HarnessException.BadInput($"Trace '{file}' line {line} has no {name}.") : null;
        }

        return v.TryGetDouble(out double d) && d >= min && d <= int.MaxValue
            ? (int)Math.Round(d)
            : throw HarnessException.BadInput($"Trace '{file}' line {line}: {name} must be a number of at least {min}.");
    }

    private static double? Double(JsonElement e, string name, string file, int line)
    {
        if (!e.TryGetProperty(name, out JsonElement v) || v.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return v.TryGetDouble(out double d) && d >= 0 && double.IsFinite(d)
            ? d
            : throw HarnessException.BadInput(string.Create(CultureInfo.InvariantCulture, $"Trace '{file}' line {line}: {name} must be a number of at least 0."));
    }
}
