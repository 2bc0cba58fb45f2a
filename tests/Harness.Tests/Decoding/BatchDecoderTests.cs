using Harness.Backends;
using Harness.Decoding;
using Harness.Models;

namespace Harness.Tests.Decoding;

/// <summary>
/// The bookkeeping every backend's decoder shares, over a fake backend that keeps each cache row's
/// tokens and answers, as next token, a hash of the row's whole cache: a sequence gets the tokens it
/// would get alone only if its row holds exactly its own history, whatever rows move, grow or shrink.
/// </summary>
public class BatchDecoderTests
{
    private static readonly DecoderConfig Model = ModelCatalog.Load("tiny-gpt2-test"); // max positions 128, vocab 256

    private static long[] Ids(int length, int seed)
    {
        var ids = new long[length];
        for (int i = 0; i < length; i++)
        {
            ids[i] = ((seed * 31) + (i * 7)) % Model.Vocab;
        }

        return ids;
    }

    /// <summary>The tokens a sequence gets alone: the fake's rule over its own history.</summary>
    private static long[] Alone(long[] prompt, int newTokens, int context)
    {
        var cache = prompt.Length > context - 1 ? prompt[^(context - 1)..].ToList() : prompt.ToList();
        var tokens = new List<long> { FakeBackend.NextOf(cache) };
        while (tokens.Count < newTokens)
        {
            int position = Math.Min(cache.Count, context - 1);
            if (position == cache.Count)
            {
                cache.Add(tokens[^1]);
            }
            else
            {
                cache[position] = tokens[^1];
            }

            cache.RemoveRange(position + 1, cache.Count - position - 1);
            tokens.Add(FakeBackend.NextOf(cache));
        }

        return tokens.ToArray();
    }

    private static DecodeSequence Sequence(int slot, long[] prompt, int newTokens) => new(slot, prompt.Length, newTokens, prompt);

    private static void Step(FakeBackend d, IEnumerable<DecodeSequence> joining, IEnumerable<DecodeSequence> running) =>
        d.Step(joining.ToList(), running.ToList(), CancellationToken.None);

    [Fact]
    public void Joiners_of_an_iteration_are_prefilled_in_one_call_with_their_ragged_prompts_after_the_live_rows()
    {
        using var d = new FakeBackend(slots: 8, context: 64);
        DecodeSequence a = Sequence(0, Ids(4, 1), 10);
        Step(d, [a], []);
        DecodeSequence[] joiners = [Sequence(1, Ids(3, 2), 10), Sequence(2, Ids(9, 3), 10), Sequence(3, Ids(1, 4), 10)];
        Step(d, joiners, [a]);

        Assert.Equal(2, d.Prefills.Count);
        (int firstRow, int[] lengths) = d.Prefills[1];
        Assert.Equal(1, firstRow);
        Assert.Equal([3, 9, 1], lengths);
        Assert.Equal([1, 2, 3], joiners.Select(d.RowOf));
        Assert.Equal([1], d.Decodes); // a decoded alone, before the joiners' prefill
        Assert.Equal(4, d.Live);
        Assert.All(joiners.Append(a), s => Assert.Equal(1 + (s == a ? 1 : 0), s.Produced));
    }

    [Fact]
    public void A_sequence_leaving_from_below_gives_its_row_to_the_last_and_decode_runs_over_the_live_rows_only()
    {
        using var d = new FakeBackend(slots: 4, context: 64);
        long[][] prompts = [Ids(5, 1), Ids(3, 2), Ids(6, 3), Ids(2, 4)];
        DecodeSequence[] s = prompts.Select((p, i) => Sequence(i, p, i == 1 ? 2 : 8)).ToArray();
        var tokens = s.Select(_ => new List<long>()).ToArray();
        void Record()
        {
            for (int i = 0; i < s.Length; i++)
            {
                if (s[i].Produced > tokens[i].Count)
                {
                    tokens[i].Add(s[i].LastToken);
                }
            }
        }

        Step(d, s, []);
        Record();
        Step(d, [], s);
        Record();
        Assert.True(s[1].Done);
        d.Release(s[1]); // row 1 of 4: row 3 moves into it
        Assert.Equal([(3, 1, 2 + 1)], d.Moves);
        Assert.Equal(1, d.RowOf(s[3]));
        Assert.Equal(3, d.Live);
        DecodeSequence[] running = [s[0], s[2], s[3]];
        while (!s[0].Done)
        {
            Step(d, [], running);
            Record();
        }

        Assert.Equal([4, 3, 3, 3, 3, 3, 3], d.Decodes);
        for (int i = 0; i < s.Length; i++)
        {
            Assert.Equal(Alone(prompts[i], s[i].MaxNewTokens, 64), tokens[i]);
        }
    }

    [Fact]
    public void The_cache_grows_in_blocks_by_half_at_least_and_shrinks_when_its_sequences_will_use_a_quarter_of_it()
    {
        using var d = new FakeBackend(slots: 8, context: 128, blockTokens: 8);
        DecodeSequence[] longOnes = Enumerable.Range(0, 4).Select(i => Sequence(i, Ids(10, i), 40)).ToArray();
        Step(d, longOnes, []);
        Assert.Equal((4, 16), (d.CapacityRows, d.CapacityTokens)); // 10 tokens in blocks of 8
        while (!longOnes[0].Done)
        {
            Step(d, [], longOnes);
        }

        // Each growth by half at least, in blocks of 8, capped at the 10 + 39 = 49 tokens they will need: 16 -> 24 -> 40 -> 56.
        Assert.Equal([16, 24, 40, 56], d.Resizes.Select(r => r.Tokens).Distinct());
        Assert.All(d.Resizes, r => Assert.Equal(0, r.Tokens % 8));
        Assert.Equal(4L * 56, d.PeakCacheTokens);
        foreach (DecodeSequence s in longOnes.Reverse())
        {
            d.Release(s);
        }

        Assert.Equal(4, d.Resizes.Count); // leaving does not resize: the next step does
        DecodeSequence small = Sequence(0, Ids(3, 9), 4);
        Step(d, [small], []);
        Assert.Equal((2, 8), (d.CapacityRows, d.CapacityTokens)); // twice the rows, the 6 tokens it will need in blocks of 8
        Assert.Equal(4L * 56, d.PeakCacheTokens);
    }

    [Fact]
    public void A_batch_that_ends_and_a_like_one_that_joins_keep_the_cache_as_it_was()
    {
        using var d = new FakeBackend(slots: 4, context: 64, blockTokens: 8);
        for (int request = 0; request < 3; request++)
        {
            DecodeSequence[] batch = Enumerable.Range(0, 4).Select(i => Sequence(i, Ids(8, i + request), 24)).ToArray();
            Step(d, batch, []);
            while (!batch[0].Done)
            {
                Step(d, [], batch);
            }

            foreach (DecodeSequence s in batch.Reverse())
            {
                d.Release(s);
            }
        }

        Assert.Empty(d.Moves);
        Assert.Equal(4, d.Resizes.Count); // all in the first request: 8 -> 16 -> 24 -> 32 tokens (8 + 23 = 31 needed)
        Assert.Equal((4, 32), (d.CapacityRows, d.CapacityTokens));
    }

    [Fact]
    public void A_prompt_longer_than_the_context_is_cut_to_its_last_tokens_and_a_full_sequence_decodes_at_its_last_position()
    {
        const int Context = 16;
        using var d = new FakeBackend(slots: 2, context: Context);
        long[] prompt = Ids(40, 5);
        DecodeSequence s = Sequence(0, prompt, 6);
        var tokens = new List<long>();
        Step(d, [s], []);
        tokens.Add(s.LastToken);
        Assert.Equal(prompt[^(Context - 1)..], d.LastPrompts[0]);
        while (!s.Done)
        {
            Step(d, [], [s]);
            tokens.Add(s.LastToken);
        }

        Assert.Equal([15, 15, 15, 15, 15], d.Positions);
        Assert.Equal(Context, d.Length(s));
        Assert.Equal(Alone(prompt, 6, Context), tokens);
        Assert.Equal(Context, d.CapacityTokens);
    }

    [Fact]
    public void Without_growth_the_cache_is_allocated_once_at_slots_by_context()
    {
        using var d = new FakeBackend(slots: 3, context: 32, grows: false);
        DecodeSequence a = Sequence(0, Ids(4, 1), 3), b = Sequence(1, Ids(6, 2), 3);
        Step(d, [a], []);
        Step(d, [b], [a]);
        Step(d, [], [a, b]);
        d.Release(a);
        Step(d, [], [b]);
        Assert.Equal([(3, 32)], d.Resizes.Select(r => (r.Rows, r.Tokens)));
    }

    [Fact]
    public void Memory_is_checked_for_one_whole_context_sequence_up_front_and_again_before_each_growth()
    {
        using var d = new FakeBackend(slots: 64, context: 128);
        MemoryNeed one = MemoryFit.Estimate(Model, 1, 128, 128, TensorDType.Float32);
        MemoryNeed big = MemoryFit.Estimate(Model, 64, 1, 128, TensorDType.Float32);
        Assert.Throws<HarnessException>(() => d.CheckMemory(new DeviceMemory("small", one.Total - 1, null)));
        d.CheckMemory(new DeviceMemory("enough for a few rows", (one.Total + big.Total) / 2, null));
        DecodeSequence[] all = Enumerable.Range(0, 64).Select(i => Sequence(i, Ids(100, i), 2)).ToArray();
        var e = Assert.Throws<HarnessException>(() => Step(d, all, []));
        Assert.Contains("nothing was allocated", e.Message);
        Assert.Empty(d.Resizes);
    }

    [Fact]
    public void A_context_beyond_the_model_is_one_sentence()
    {
        var e = Assert.Throws<HarnessException>(() => new FakeBackend(slots: 1, context: Model.MaxPositions + 1));
        Assert.Equal(ExitCodes.BadInput, e.ExitCode);
        Assert.Contains("max_positions", e.Message);
    }

    /// <summary>A backend that keeps each row's tokens and records every call the base makes.</summary>
    private sealed class FakeBackend(int slots, int context, int blockTokens = BatchDecoder.DefaultBlockTokens, bool grows = true)
        : BatchDecoder(new DecoderSpec { Model = Model, DType = TensorDType.Float32, Slots = slots, Context = context }, blockTokens)
    {
        private List<long>[] _rows = [];

        public List<(int Rows, int Tokens)> Resizes { get; } = [];

        public List<(int From, int To, int Tokens)> Moves { get; } = [];

        public List<(int FirstRow, int[] Lengths)> Prefills { get; } = [];

        public List<long[]> LastPrompts { get; } = [];

        /// <summary>Rows of each decode step.</summary>
        public List<int> Decodes { get; } = [];

        /// <summary>Row 0's position of each decode step.</summary>
        public List<int> Positions { get; } = [];

        public override string Name => "fake";

        public override IReadOnlyDictionary<string, object?> Details => DescribeBatching(new Dictionary<string, object?>());

        protected override bool GrowsCache => grows;

        /// <summary>The next token of a row: a hash of everything in its cache, in order.</summary>
        public static long NextOf(IReadOnlyList<long> cache)
        {
            long h = 17;
            foreach (long t in cache)
            {
                h = ((h * 31) + t + 1) % 1_000_003;
            }

            return h % Model.Vocab;
        }

        public override void Dispose()
        {
        }

        protected override void Resize(int rows, int tokens, ReadOnlySpan<int> lengths)
        {
            Assert.True(lengths.Length <= rows && rows <= Slots);
            var fresh = new List<long>[rows];
            for (int r = 0; r < rows; r++)
            {
                fresh[r] = r < lengths.Length ? _rows[r].Take(lengths[r]).ToList() : [];
                Assert.True(fresh[r].Count <= tokens);
            }

            _rows = fresh;
            Resizes.Add((rows, tokens));
        }

        protected override void MoveRow(int from, int to, int tokens)
        {
            Assert.True(to < from);
            _rows[to] = _rows[from].Take(tokens).ToList();
            _rows[from] = [];
            Moves.Add((from, to, tokens));
        }

        protected override void Prefill(StepRows rows)
        {
            Assert.True(rows.FirstRow + rows.Count <= CapacityRows);
            var lengths = new int[rows.Count];
            LastPrompts.Clear();
            for (int i = 0; i < rows.Count; i++)
            {
                long[] prompt = rows.Prompt(i).ToArray();
                Assert.True(prompt.Length <= CapacityTokens);
                _rows[rows.FirstRow + i] = prompt.ToList();
                lengths[i] = prompt.Length;
                LastPrompts.Add(prompt);
                rows.Next[i] = NextOf(_rows[rows.FirstRow + i]);
            }

            Prefills.Add((rows.FirstRow, lengths));
        }

        protected override void Decode(StepRows rows)
        {
            Assert.Equal(Live, rows.Count);
            Decodes.Add(rows.Count);
            Positions.Add(rows.Positions[0]);
            for (int r = 0; r < rows.Count; r++)
            {
                List<long> row = _rows[r];
                int position = rows.Positions[r];
                Assert.True(position < CapacityTokens);
                Assert.True(position <= row.Count, $"row {r} holds {row.Count} tokens, fed at {position}");
                row.RemoveRange(position, row.Count - position);
                row.Add(rows.Tokens[r]);
                rows.Next[r] = NextOf(row);
            }
        }
    }
}
