using Harness.Decoding;
using Harness.Engine;
using Harness.Measurement;
using Harness.Tests.Fakes;

namespace Harness.Tests.Decoding;

public class StreamRecordTests
{
    [Theory]
    [InlineData(new[] { 12, 8, 5 }, 6, new[] { 3, 2, 1 })]
    [InlineData(new[] { 1, 1, 1, 1 }, 2, new[] { 1, 1, 0, 0 })]
    [InlineData(new[] { 10, 1 }, 11, new[] { 10, 1 })]
    [InlineData(new[] { 30, 1, 1 }, 4, new[] { 2, 1, 1 })]
    public void Usage_is_spread_over_events_by_characters_and_adds_up(int[] chars, int total, int[] tokens)
    {
        var r = new StreamRecord();
        foreach (int c in chars)
        {
            r.Add(1, StreamEventKind.Content, c);
        }

        r.SpreadTokens(total);

        Assert.Equal(tokens, r.Events.ToArray().Select(e => e.Tokens));
        Assert.Equal(total, r.EventTokens);
        Assert.Equal(EventTokenSource.Usage, r.TokensFrom);
    }

    [Fact]
    public void Without_usage_each_event_is_one_token()
    {
        var r = new StreamRecord();
        r.Add(1, StreamEventKind.Reasoning, 5);
        r.Add(2, StreamEventKind.Content, 5);

        r.SpreadTokens(null);

        Assert.Equal(2, r.EventTokens);
        Assert.Equal(1, r.FirstToken);
        Assert.Equal(2, r.FirstOutput);
    }

    [Fact]
    public void Marked_stream_events_share_their_gap_among_their_tokens_and_count_every_token_for_tpot()
    {
        var clock = new FakeClock();
        var recorder = new WorkerRecorder(clock.Frequency);
        var ctx = new RequestContext(clock, 0, recorder);
        ctx.Begin(0, clock.Timestamp, clock.Timestamp, new WorkloadDescription("tokens", 1, 1, new Dictionary<string, object?>()), CancellationToken.None);
        long t0 = clock.Timestamp;
        long ms = clock.Frequency / 1000;

        ctx.MarkTokens(3, t0 + (100 * ms)); // first event: three tokens at once, no gap before them
        ctx.MarkTokens(2, t0 + (140 * ms)); // 40 ms later, two tokens: 20 ms each
        ctx.MarkTokens(1, t0 + (150 * ms));

        Assert.Equal(t0 + (100 * ms), ctx.FirstTokenTimestamp);
        Assert.Equal(6, ctx.TokenCount);
        Assert.Equal([20 * ms, 20 * ms, 10 * ms], recorder.InterTokenLatency.ToArray().Order().Reverse());
    }
}
