using System.Collections.Concurrent;
using Harness.Decoding;
using Harness.Tests.Fakes;

namespace Harness.Tests.Decoding;

/// <summary>The in-process endpoint on its own device thread, with a fast latency model on the real clock.</summary>
public class InProcessLlmEndpointTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    private static InProcessLlmEndpoint Endpoint(IStepDecoder? decoder = null, int maxBatch = 4) =>
        new(decoder ?? new LatencyModelDecoder(new LatencyModel { TtftMs = 1, TpotMs = 0.5 }), new BatchingOptions { MaxBatch = maxBatch, Window = TimeSpan.Zero });

    [Fact]
    public void Requests_get_all_their_tokens_in_order_and_the_device_is_observed()
    {
        using InProcessLlmEndpoint llm = Endpoint();
        var observer = new Observer();
        llm.Observe(observer);
        var streams = Enumerable.Range(1, 6).Select(k => (Request: new LlmRequest { PromptTokens = 8, MaxNewTokens = k }, Stream: new Recorder())).ToList();
        foreach ((LlmRequest r, Recorder s) in streams)
        {
            llm.Submit(r, s);
        }

        foreach ((LlmRequest r, Recorder s) in streams)
        {
            Assert.True(s.Done.Wait(Bound), "a request never completed");
            Assert.Equal(LlmCompletion.Finished, s.Completion);
            Assert.Equal(r.MaxNewTokens, s.Tokens.Count);
            Assert.True(s.Admitted <= s.Tokens[0], "admitted after its first token");
            Assert.Equal(s.Tokens.Order(), s.Tokens);
        }

        Assert.Equal(("latency-model", 4, LlmBatching.Continuous), (llm.Name, llm.MaxBatch, llm.Batching));
        Assert.Equal(6 * 8, observer.PrefillTokens);
        Assert.Equal(1 + 2 + 3 + 4 + 5 + 6, observer.Tokens);
        Assert.True(observer.MaxSequences <= 4);
        Assert.True(llm.DriverCpu >= TimeSpan.Zero);
    }

    [Fact]
    public void A_cancelled_request_ends_and_its_slot_serves_the_next()
    {
        using InProcessLlmEndpoint llm = Endpoint(maxBatch: 1);
        var endless = new LlmRequest { PromptTokens = 8, MaxNewTokens = 1_000_000 };
        var stream = new Recorder();
        llm.Submit(endless, stream);
        Assert.True(SpinWait.SpinUntil(() => stream.Count > 3, Bound));
        llm.Cancel(endless);
        Assert.True(stream.Done.Wait(Bound));
        Assert.Equal(LlmCompletion.Cancelled, stream.Completion);

        var next = new Recorder();
        llm.Submit(new LlmRequest { PromptTokens = 8, MaxNewTokens = 2 }, next);
        Assert.True(next.Done.Wait(Bound));
        Assert.Equal((LlmCompletion.Finished, 2), (next.Completion, next.Count));
    }

    [Fact]
    public void A_failing_decoder_fails_the_requests_with_its_error()
    {
        using InProcessLlmEndpoint llm = Endpoint(new ThrowingDecoder());
        var first = new Recorder();
        llm.Submit(new LlmRequest { PromptTokens = 8, MaxNewTokens = 2 }, first);
        Assert.True(first.Done.Wait(Bound));
        Assert.Equal("out of memory", first.Error?.Message);
        var later = new Recorder();
        llm.Submit(new LlmRequest { PromptTokens = 8, MaxNewTokens = 2 }, later);
        Assert.Equal("out of memory", later.Error?.Message);
    }

    [Fact]
    public void A_request_that_fills_the_free_slots_skips_the_batch_window_and_a_lone_one_waits_for_it()
    {
        // A ten-minute window on a clock that stands still: only filling the free slots can admit a request.
        var options = new BatchingOptions { MaxBatch = 1, Window = TimeSpan.FromMinutes(10) };
        static LatencyModelDecoder Fast() => new(new LatencyModel { TtftMs = 1, TpotMs = 0.5 });
        using (var one = new InProcessLlmEndpoint(Fast(), options, new FakeClock()))
        {
            for (int i = 0; i < 3; i++)
            {
                var s = new Recorder();
                one.Submit(new LlmRequest { PromptTokens = 8, MaxNewTokens = 2 }, s);
                Assert.True(s.Done.Wait(Bound), $"request {i + 1} at max batch 1 waited for the window");
            }
        }

        using var two = new InProcessLlmEndpoint(Fast(), options with { MaxBatch = 2 }, new FakeClock());
        var lone = new Recorder();
        two.Submit(new LlmRequest { PromptTokens = 8, MaxNewTokens = 2 }, lone);
        Assert.False(lone.Done.Wait(TimeSpan.FromMilliseconds(300)), "a lone request of two slots did not wait for its window");
        Assert.Equal(0, lone.Admitted);
        var other = new Recorder();
        two.Submit(new LlmRequest { PromptTokens = 8, MaxNewTokens = 2 }, other);
        Assert.True(lone.Done.Wait(Bound) && other.Done.Wait(Bound), "two requests that fill the batch waited for the window");
        Assert.Equal(lone.Admitted, other.Admitted);
    }

    private sealed class Recorder : ILlmStream
    {
        private readonly ConcurrentQueue<long> _tokens = new();

        public ManualResetEventSlim Done { get; } = new();

        public long Admitted { get; private set; }

        public List<long> Tokens => _tokens.ToList();

        public int Count => _tokens.Count;

        public LlmCompletion? Completion { get; private set; }

        public Exception? Error { get; private set; }

        void ILlmStream.Admitted(LlmRequest request, long timestamp) => Admitted = timestamp;

        void ILlmStream.Token(LlmRequest request, long token, long timestamp) => _tokens.Enqueue(timestamp);

        void ILlmStream.Completed(LlmRequest request, LlmCompletion completion, long timestamp)
        {
            Completion = completion;
            Done.Set();
        }

        void ILlmStream.Failed(LlmRequest request, Exception error)
        {
            Error = error;
            Done.Set();
        }
    }

    private sealed class Observer : IDeviceObserver
    {
        public int PrefillTokens { get; private set; }

        public int Tokens { get; private set; }

        public int MaxSequences { get; private set; }

        public void IterationStarted(int sequences, long start) => MaxSequences = Math.Max(MaxSequences, sequences);

        public void IterationDone(int joining, int decoded, int prefillTokens, long start, long end)
        {
            Assert.True(end >= start);
            PrefillTokens += prefillTokens;
            Tokens += joining + decoded;
        }
    }

    [Fact]
    public void A_shared_decoder_gets_back_the_sequences_an_endpoint_leaves_running_so_the_next_endpoint_starts_empty()
    {
        using var decoder = new HoldingDecoder();
        var batching = new BatchingOptions { MaxBatch = 2, Window = TimeSpan.Zero };
        var llm = new InProcessLlmEndpoint(decoder, batching, ownsDecoder: false);
        var stream = new Recorder();
        llm.Submit(new LlmRequest { PromptTokens = 8, MaxNewTokens = 1_000_000 }, stream);
        Assert.True(SpinWait.SpinUntil(() => stream.Count > 3, Bound));
        llm.Dispose();
        Assert.Equal(0, decoder.Held);

        using var next = new InProcessLlmEndpoint(decoder, batching, ownsDecoder: false);
        var second = new Recorder();
        next.Submit(new LlmRequest { PromptTokens = 8, MaxNewTokens = 3 }, second);
        Assert.True(second.Done.Wait(Bound));
        Assert.Equal((LlmCompletion.Finished, 3), (second.Completion, second.Count));
    }

    /// <summary>A latency model that counts the sequences it holds (joined and not yet released).</summary>
    private sealed class HoldingDecoder : IStepDecoder
    {
        private readonly LatencyModelDecoder _inner = new(new LatencyModel { TtftMs = 1, TpotMs = 0.5 });
        private readonly HashSet<DecodeSequence> _held = new(ReferenceEqualityComparer.Instance);

        public int Held
        {
            get
            {
                lock (_held)
                {
                    return _held.Count;
                }
            }
        }

        public string Name => _inner.Name;

        public int Slots => _inner.Slots;

        public bool SupportsJoining => true;

        public IReadOnlyDictionary<string, object?> Details => _inner.Details;

        public void Step(IReadOnlyList<DecodeSequence> joining, IReadOnlyList<DecodeSequence> running, CancellationToken token)
        {
            Assert.True(running.Count == Held, "every sequence the decoder holds decodes in each iteration");
            _inner.Step(joining, running, token);
            lock (_held)
            {
                _held.UnionWith(joining);
            }
        }

        public void Release(DecodeSequence sequence)
        {
            lock (_held)
            {
                _held.Remove(sequence);
            }

            _inner.Release(sequence);
        }

        public void Dispose() => _inner.Dispose();
    }

    private sealed class ThrowingDecoder : IStepDecoder
    {
        public string Name => "throwing";

        public int Slots => 4;

        public bool SupportsJoining => true;

        public IReadOnlyDictionary<string, object?> Details { get; } = new Dictionary<string, object?>();

        public void Step(IReadOnlyList<DecodeSequence> joining, IReadOnlyList<DecodeSequence> running, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("out of memory");

        public void Release(DecodeSequence sequence)
        {
        }

        public void Dispose()
        {
        }
    }
}
