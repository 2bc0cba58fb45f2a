using Harness.Decoding;

namespace Harness.Tests.Decoding;

/// <summary>
/// The continuous-batching loop driven by hand, one iteration at a time, with timestamps in
/// milliseconds: who joins when, which slot each request holds, and what each stream hears.
/// </summary>
public class ContinuousBatcherTests
{
    private static ContinuousBatcher Batcher(ScriptedDecoder decoder, int maxBatch = 4, double windowMs = 0, int maxPrefill = 16_384, LlmBatching batching = LlmBatching.Continuous) =>
        new(decoder, new BatchingOptions { MaxBatch = maxBatch, Window = TimeSpan.FromMilliseconds(windowMs), MaxPrefillTokens = maxPrefill, Batching = batching }, frequency: 1000);

    private static LlmRequest Request(int newTokens, int prompt = 10) => new() { PromptTokens = prompt, MaxNewTokens = newTokens };

    /// <summary>Runs the iteration <see cref="ContinuousBatcher.Next"/> handed out, from <paramref name="start"/> to <paramref name="end"/>.</summary>
    private static void Iterate(ContinuousBatcher b, ScriptedDecoder decoder, long start, long end)
    {
        Assert.True(b.Next(start), $"nothing to run at {start}");
        decoder.Step(b.Joining, b.Running, CancellationToken.None);
        b.Done(start, end);
    }

    [Fact]
    public void Requests_join_at_iteration_boundaries_and_stream_their_tokens()
    {
        var decoder = new ScriptedDecoder(slots: 8);
        ContinuousBatcher b = Batcher(decoder);
        var log = new StreamLog();
        LlmRequest a = Request(3), c = Request(2);
        b.Submit(a, log, 0);
        Iterate(b, decoder, 0, 10);               // a prefills
        b.Submit(c, log, 12);
        Assert.True(b.Next(12));                  // c joins while a decodes: one pass
        Assert.Equal((1, 1), (b.Joining.Count, b.Running.Count));
        decoder.Step(b.Joining, b.Running, CancellationToken.None);
        b.Done(12, 20);
        Iterate(b, decoder, 20, 25);              // both decode: a's 3rd token, c's 2nd: both done
        Assert.False(b.Next(25));

        Assert.Equal(["admitted 0", "token 10", "token 20", "token 25", "finished 25"], log.Of(a));
        Assert.Equal(["admitted 12", "token 20", "token 25", "finished 25"], log.Of(c));
        Assert.Equal([(1, 0), (1, 1), (0, 2)], decoder.Iterations);
        Assert.Equal(2, decoder.Released.Count);
        Assert.Equal(4, b.FreeSlots);
    }

    [Fact]
    public void A_full_batch_makes_requests_wait_and_a_freed_slot_is_reused()
    {
        var decoder = new ScriptedDecoder(slots: 8);
        ContinuousBatcher b = Batcher(decoder, maxBatch: 2);
        var log = new StreamLog();
        LlmRequest shortOne = Request(1), longOne = Request(5), third = Request(1);
        b.Submit(shortOne, log, 0);
        b.Submit(longOne, log, 0);
        b.Submit(third, log, 0);
        Assert.True(b.Next(0));
        Assert.Equal([0, 1], b.Joining.Select(s => s.Slot));
        Assert.Equal((0, 1), (b.FreeSlots, b.Waiting));
        decoder.Step(b.Joining, b.Running, CancellationToken.None);
        b.Done(0, 10);                            // shortOne is done and frees slot 0
        Assert.True(b.Next(10));
        Assert.Equal(0, b.Joining.Single().Slot);   // the third takes it
        decoder.Step(b.Joining, b.Running, CancellationToken.None);
        b.Done(10, 20);
        Assert.Equal(["admitted 10", "token 20", "finished 20"], log.Of(third));
        Assert.Equal(["admitted 0", "token 10", "finished 10"], log.Of(shortOne));
        Assert.Equal(2, log.Of(longOne).Count(e => e.StartsWith("token", StringComparison.Ordinal)));
    }

    [Fact]
    public void A_cancelled_request_frees_its_slot_at_the_iteration_boundary()
    {
        var decoder = new ScriptedDecoder(slots: 8);
        ContinuousBatcher b = Batcher(decoder, maxBatch: 1);
        var log = new StreamLog();
        LlmRequest running = Request(100), waiting = Request(2), later = Request(1);
        b.Submit(running, log, 0);
        b.Submit(waiting, log, 0);
        Assert.True(b.Next(0));
        decoder.Step(b.Joining, b.Running, CancellationToken.None);
        b.Cancel(waiting, 3);                     // waiting: leaves at once
        b.Cancel(running, 4);                     // running: at the end of this iteration
        Assert.Equal(0, b.FreeSlots);
        b.Done(0, 10);
        Assert.Equal(1, b.FreeSlots);
        Assert.Equal(["admitted 0", "cancelled 10"], log.Of(running));
        Assert.Equal(["cancelled 3"], log.Of(waiting));
        Assert.Equal(100, decoder.Released.Single().MaxNewTokens);

        b.Submit(later, log, 11);                 // the slot serves the next request
        Iterate(b, decoder, 11, 20);
        Assert.Equal(["admitted 11", "token 20", "finished 20"], log.Of(later));

        // Between iterations a running request leaves at once.
        LlmRequest idle = Request(10);
        b.Submit(idle, log, 21);
        Iterate(b, decoder, 21, 30);
        b.Cancel(idle, 31);
        Assert.Equal(["admitted 21", "token 30", "cancelled 31"], log.Of(idle));
        Assert.Equal(1, b.FreeSlots);
        Assert.False(b.Next(32));
    }

    [Fact]
    public void A_decoder_that_cannot_take_joiners_runs_whole_batches()
    {
        var decoder = new ScriptedDecoder(slots: 8, joins: false);
        ContinuousBatcher b = Batcher(decoder);
        Assert.Equal(LlmBatching.Static, b.Batching);
        var log = new StreamLog();
        LlmRequest a = Request(3), c = Request(1);
        b.Submit(a, log, 0);
        Iterate(b, decoder, 0, 10);
        b.Submit(c, log, 11);
        Assert.True(b.Next(11));
        Assert.Equal((0, 1), (b.Joining.Count, b.Running.Count)); // a decodes alone: c waits for the batch to end
        decoder.Step(b.Joining, b.Running, CancellationToken.None);
        b.Done(11, 20);
        Iterate(b, decoder, 20, 30);              // a's last token
        Iterate(b, decoder, 30, 40);              // now c
        Assert.Equal(["admitted 30", "token 40", "finished 40"], log.Of(c));
    }

    [Fact]
    public void A_lone_request_waits_for_its_window_and_the_prefill_budget_splits_joiners()
    {
        var decoder = new ScriptedDecoder(slots: 8);
        ContinuousBatcher windowed = Batcher(decoder, windowMs: 2);
        windowed.Submit(Request(1), new StreamLog(), 0);
        Assert.False(windowed.Next(1));
        Assert.Equal(2, windowed.NextTimer);
        Assert.True(windowed.Next(2));

        ContinuousBatcher budget = Batcher(decoder, maxPrefill: 150);
        for (int i = 0; i < 3; i++)
        {
            budget.Submit(Request(5, prompt: 100), new StreamLog(), 0);
        }

        Assert.True(budget.Next(0));
        Assert.Single(budget.Joining);            // 100 of 150 tokens: the next 100 do not fit, but one always joins
    }

    [Fact]
    public void Requests_that_fill_the_free_slots_join_at_once_however_long_the_window()
    {
        // Max batch 1 (serve --max-batch 1, a client at concurrency 1): each request fills the batch alone.
        var decoder = new ScriptedDecoder(slots: 8);
        ContinuousBatcher one = Batcher(decoder, maxBatch: 1, windowMs: 500);
        var log = new StreamLog();
        LlmRequest first = Request(2), second = Request(1);
        one.Submit(first, log, 0);
        Iterate(one, decoder, 0, 10);
        Iterate(one, decoder, 10, 15);            // first is done
        one.Submit(second, log, 16);
        Iterate(one, decoder, 16, 20);
        Assert.Null(one.NextTimer);
        Assert.Equal(["admitted 0", "token 10", "token 15", "finished 15"], log.Of(first));
        Assert.Equal(["admitted 16", "token 20", "finished 20"], log.Of(second));

        // Max batch 4: three waiting requests do not fill it and wait for the window; the fourth fills it, and all join.
        var four = new ScriptedDecoder(slots: 8);
        ContinuousBatcher b = Batcher(four, maxBatch: 4, windowMs: 500);
        for (int i = 0; i < 3; i++)
        {
            b.Submit(Request(3), log, i);
        }

        Assert.False(b.Next(3));
        Assert.Equal(500, b.NextTimer);
        b.Submit(Request(1), log, 4);
        Assert.True(b.Next(4));
        Assert.Equal(4, b.Joining.Count);
        four.Step(b.Joining, b.Running, CancellationToken.None);
        b.Done(4, 10);                            // the fourth is done: one slot free while three decode

        // One request fills the one free slot beside the running ones: it joins the next iteration, no window.
        b.Submit(Request(1), log, 11);
        Assert.True(b.Next(11));
        Assert.Equal((1, 3), (b.Joining.Count, b.Running.Count));
        Assert.Null(b.NextTimer);
    }

    [Fact]
    public void A_failing_device_fails_every_request_and_every_later_one()
    {
        var decoder = new ScriptedDecoder(slots: 8);
        ContinuousBatcher b = Batcher(decoder, maxBatch: 1);
        var log = new StreamLog();
        LlmRequest a = Request(3), waiting = Request(3), later = Request(1);
        b.Submit(a, log, 0);
        b.Submit(waiting, log, 0);
        Assert.True(b.Next(0));
        b.Fail(new InvalidOperationException("device lost"));
        b.Submit(later, log, 5);
        Assert.Equal(["admitted 0", "failed device lost"], log.Of(a));
        Assert.Equal(["failed device lost"], log.Of(waiting));
        Assert.Equal(["failed device lost"], log.Of(later));
        Assert.False(b.Next(6));
    }

    [Fact]
    public void An_end_token_ends_a_request_once_it_has_its_minimum_and_frees_its_slot()
    {
        var decoder = new ScriptedDecoder(slots: 4);
        ContinuousBatcher b = Batcher(decoder, maxBatch: 1);
        var log = new StreamLog();
        // Slot 0's tokens are 0, 1, 2...: the end token 2 is the third.
        LlmRequest ends = new() { PromptTokens = 3, MaxNewTokens = 10, EndTokens = new long[] { 2 } };
        LlmRequest tooEarly = new() { PromptTokens = 3, MaxNewTokens = 5, EndTokens = new long[] { 2 }, MinNewTokens = 4 };
        b.Submit(ends, log, 0);
        b.Submit(tooEarly, log, 0);
        for (long t = 0; b.Next(t); t += 10)
        {
            decoder.Step(b.Joining, b.Running, CancellationToken.None);
            b.Done(t, t + 10);
        }

        Assert.Equal(["admitted 0", "token 10", "token 20", "token 30", "ended 30"], log.Of(ends));
        Assert.Equal(["admitted 30", "token 40", "token 50", "token 60", "token 70", "token 80", "finished 80"], log.Of(tooEarly));
        Assert.Equal(1, b.FreeSlots);
    }

    [Fact]
    public void A_joiner_takes_the_lowest_free_slot()
    {
        var decoder = new ScriptedDecoder(slots: 4);
        ContinuousBatcher b = Batcher(decoder, maxBatch: 3);
        var log = new StreamLog();
        LlmRequest a = Request(1), c = Request(1), d = Request(9);
        b.Submit(a, log, 0);
        b.Submit(c, log, 0);
        b.Submit(d, log, 0);
        Iterate(b, decoder, 0, 1);                // a (slot 0) and c (slot 1) leave; d keeps slot 2
        LlmRequest e = Request(2), f = Request(2);
        b.Submit(e, log, 1);
        b.Submit(f, log, 1);
        Assert.True(b.Next(1));
        Assert.Equal([0, 1], b.Joining.Select(s => s.Slot));
        Assert.Equal([2], b.Running.Select(s => s.Slot));
    }

    /// <summary>A decoder whose tokens are slot x 1000 + position; it records each iteration's (joining, running) counts.</summary>
    internal sealed class ScriptedDecoder(int slots, bool joins = true) : IStepDecoder
    {
        public List<(int Joining, int Running)> Iterations { get; } = [];

        public List<DecodeSequence> Released { get; } = [];

        public string Name => "scripted";

        public int Slots => slots;

        public bool SupportsJoining => joins;

        public IReadOnlyDictionary<string, object?> Details { get; } = new Dictionary<string, object?>();

        public void Step(IReadOnlyList<DecodeSequence> joining, IReadOnlyList<DecodeSequence> running, CancellationToken cancellationToken)
        {
            Iterations.Add((joining.Count, running.Count));
            foreach (DecodeSequence s in joining.Concat(running))
            {
                s.Emit((s.Slot * 1000) + s.Produced);
            }
        }

        public void Release(DecodeSequence sequence) => Released.Add(sequence);

        public void Dispose()
        {
        }
    }

    /// <summary>Every event of every request, as text.</summary>
    internal sealed class StreamLog : ILlmStream
    {
        private readonly Dictionary<LlmRequest, List<string>> _events = new(ReferenceEqualityComparer.Instance);

        public List<string> Of(LlmRequest r) => _events.TryGetValue(r, out List<string>? l) ? l : [];

        public void Admitted(LlmRequest request, long timestamp) => Add(request, $"admitted {timestamp}");

        public void Token(LlmRequest request, long token, long timestamp) => Add(request, $"token {timestamp}");

        public void Completed(LlmRequest request, LlmCompletion completion, long timestamp) =>
            Add(request, $"{completion switch { LlmCompletion.Finished => "finished", LlmCompletion.EndToken => "ended", _ => "cancelled" }} {timestamp}");

        public void Failed(LlmRequest request, Exception error) => Add(request, $"failed {error.Message}");

        private void Add(LlmRequest r, string e)
        {
            if (!_events.TryGetValue(r, out List<string>? l))
            {
                _events[r] = l = [];
            }

            l.Add(e);
        }
    }
}
