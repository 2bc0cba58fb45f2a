using System.Text;
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

    /// <summary>
    /// The prompts of a trace read once (<see cref="TraceFile"/>): blocks of <paramref name="blockTokens"/> tokens,
    /// the same text for the same hash id, fixed by <paramref name="seed"/>; lengths counted by <paramref name="tokenizer"/> when given.
    /// </summary>
    public static MooncakeTrace Build(string spec, TraceFile trace, int blockTokens, int seed, ITokenCounter? tokenizer)
    {
        int block = blockTokens;
        var blocks = new Dictionary<long, string>();
        var items = new List<PromptItem>(trace.Rows.Count);
        int shared = 0;
        foreach (TraceRow row in trace.Rows)
        {
            int input = row.InputTokens;
            var text = new StringBuilder();
            int covered = 0;
            foreach (long hash in row.HashIds)
            {
                if (covered >= input)
                {
                    break;
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

            if (covered < input)
            {
                text.Append(SyntheticText.Of(input - covered, Seeds.Mix(seed, row.Line, 5), tokenizer));
            }

            items.Add(new PromptItem
            {
                Messages = [LlmMessage.User(text.ToString())],
                InputTokens = input,
                OutputTokens = row.OutputTokens,
                ArrivalS = row.ArrivalS,
                Session = row.Session,
                DelayS = row.DelayS,
            });
        }

        return new MooncakeTrace(spec, items, block, tokenizer is not null, shared);
    }
}
