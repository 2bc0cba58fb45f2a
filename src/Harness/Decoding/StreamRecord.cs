using System.Text;

namespace Harness.Decoding;

/// <summary>What a streamed event carried: answer text, reasoning text, or tool-call arguments (all are generated tokens).</summary>
public enum StreamEventKind : byte
{
    Content,
    Reasoning,
    ToolCall,
}

/// <summary>
/// One streamed event that carried generated tokens: when it was read (the run's clock), what it
/// carried, how many characters, and how many tokens (set when the request ends: by the tokenizer,
/// else the server's usage spread over the events, else one per event).
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1051", Justification = "Recorded per streamed event in a preallocated array and updated in place; fields avoid copies on the hot path.")]
public struct StreamEvent
{
    public long Timestamp;
    public StreamEventKind Kind;
    public int Chars;
    public int Tokens;

    /// <summary>Where its text starts in <see cref="StreamRecord.Text"/> (when text is kept).</summary>
    public int TextStart;
}

/// <summary>Where the tokens of each streamed event come from.</summary>
public enum EventTokenSource : byte
{
    /// <summary>One per token-bearing event (no tokenizer, no usage).</summary>
    Events,

    /// <summary>The server's usage, spread over the events in proportion to their characters.</summary>
    Usage,

    /// <summary>Each event's text counted with the given tokenizer.</summary>
    Tokenizer,
}

/// <summary>
/// The record of one request to a remote endpoint, stamped with the run's clock: when it was sent,
/// its first byte, each event that carried tokens, its end, the server's usage and the client's own
/// counts, and why it failed. Owned by the caller's stream and reused from request to request
/// (<see cref="Clear"/> keeps the buffers), so a steady stream of requests allocates nothing here.
/// </summary>
public sealed class StreamRecord
{
    private StreamEvent[] _events = new StreamEvent[64];

    /// <summary>When the request was handed to the HTTP stack; 0 until then.</summary>
    public long Sent { get; set; }

    /// <summary>When the response's headers arrived.</summary>
    public long Headers { get; set; }

    /// <summary>When the first byte of the body was read.</summary>
    public long FirstByte { get; set; }

    /// <summary>When the response ended (its last event, the end of the stream, or the failure).</summary>
    public long End { get; set; }

    /// <summary>HTTP status of the response; 0 when none arrived.</summary>
    public int Status { get; set; }

    public int EventCount { get; private set; }

    /// <summary>Events without tokens: a role-only first chunk, a usage-only chunk, a finish-only chunk.</summary>
    public int EmptyEvents { get; set; }

    /// <summary>SSE comment lines (pings).</summary>
    public int Comments { get; set; }

    /// <summary>Whether the stream ended with <c>data: [DONE]</c>.</summary>
    public bool Done { get; set; }

    public string? FinishReason { get; set; }

    /// <summary>The server's usage: prompt tokens, completion tokens, cached prompt tokens; null where it sent none.</summary>
    public int? PromptTokens { get; set; }

    public int? CompletionTokens { get; set; }

    public int? CachedTokens { get; set; }

    /// <summary>Generated tokens as the client counted them on its own: the tokenizer's count of the text, else the token-bearing events.</summary>
    public int ClientTokens { get; set; }

    /// <summary>Where <see cref="StreamEvent.Tokens"/> came from.</summary>
    public EventTokenSource TokensFrom { get; set; }

    /// <summary>Why the request failed (one sentence), null when it did not.</summary>
    public string? Failure { get; set; }

    /// <summary>True when the failure was the request timeout.</summary>
    public bool TimedOut { get; set; }

    /// <summary>
    /// Why the request was sent a second time on a fresh connection (its reused connection died before
    /// any byte of the response: "closed before the response", "reset before the response"); null when
    /// it was sent once. <see cref="Sent"/> stays the first send.
    /// </summary>
    public string? ConnectionRetry { get; set; }

    /// <summary>Keep the generated text (the agents thread it into the next turn; the tokenizer re-counts it).</summary>
    public bool KeepText { get; set; }

    /// <summary>The generated text of all events (content, reasoning and tool calls) when <see cref="KeepText"/>.</summary>
    public StringBuilder Text { get; } = new();

    /// <summary>Characters of answer text (content only, not reasoning) in <see cref="Text"/>, for the next turn's assistant message.</summary>
    public StringBuilder Answer { get; } = new();

    public ReadOnlySpan<StreamEvent> Events => _events.AsSpan(0, EventCount);

    public Span<StreamEvent> MutableEvents => _events.AsSpan(0, EventCount);

    /// <summary>First event with tokens of any kind (TTFT), 0 when none came.</summary>
    public long FirstToken => EventCount > 0 ? _events[0].Timestamp : 0;

    /// <summary>First event with answer text or tool-call arguments (TTFO), 0 when none came.</summary>
    public long FirstOutput
    {
        get
        {
            for (int i = 0; i < EventCount; i++)
            {
                if (_events[i].Kind != StreamEventKind.Reasoning)
                {
                    return _events[i].Timestamp;
                }
            }

            return 0;
        }
    }

    /// <summary>The last event with tokens, 0 when none came.</summary>
    public long LastToken => EventCount > 0 ? _events[EventCount - 1].Timestamp : 0;

    public void Clear()
    {
        Sent = Headers = FirstByte = End = 0;
        Status = EventCount = EmptyEvents = Comments = ClientTokens = 0;
        Done = TimedOut = false;
        FinishReason = Failure = ConnectionRetry = null;
        PromptTokens = CompletionTokens = CachedTokens = null;
        TokensFrom = EventTokenSource.Events;
        Text.Clear();
        Answer.Clear();
    }

    /// <summary>Adds an event that carried <paramref name="chars"/> characters of <paramref name="kind"/>; its tokens are set at the end.</summary>
    public void Add(long timestamp, StreamEventKind kind, int chars, int textStart = 0)
    {
        if (EventCount == _events.Length)
        {
            Array.Resize(ref _events, _events.Length * 2);
        }

        _events[EventCount++] = new StreamEvent { Timestamp = timestamp, Kind = kind, Chars = chars, Tokens = 1, TextStart = textStart };
    }

    /// <summary>
    /// Sets each event's tokens from the server's count <paramref name="total"/>: in proportion to the
    /// event's characters (largest remainder, so they add up exactly), then at least one per event
    /// while the total allows (a chunk that came carried a token), taken from the event with the most.
    /// With no total, one per event.
    /// </summary>
    public void SpreadTokens(int? total)
    {
        Span<StreamEvent> events = MutableEvents;
        if (total is not { } n || events.Length == 0)
        {
            foreach (ref StreamEvent e in events)
            {
                e.Tokens = 1;
            }

            TokensFrom = EventTokenSource.Events;
            return;
        }

        long chars = 0;
        foreach (StreamEvent e in events)
        {
            chars += Math.Max(1, e.Chars);
        }

        int given = 0;
        Span<double> remainders = events.Length <= 256 ? stackalloc double[events.Length] : new double[events.Length];
        for (int i = 0; i < events.Length; i++)
        {
            double share = n * (double)Math.Max(1, events[i].Chars) / chars;
            int whole = (int)Math.Floor(share);
            events[i].Tokens = whole;
            remainders[i] = share - whole;
            given += whole;
        }

        for (int left = n - given; left > 0; left--)
        {
            int best = 0;
            for (int i = 1; i < remainders.Length; i++)
            {
                if (remainders[i] > remainders[best])
                {
                    best = i;
                }
            }

            events[best].Tokens++;
            remainders[best] = -1;
        }

        for (int i = 0; i < events.Length; i++)
        {
            if (events[i].Tokens > 0)
            {
                continue;
            }

            int most = 0;
            for (int j = 1; j < events.Length; j++)
            {
                if (events[j].Tokens > events[most].Tokens)
                {
                    most = j;
                }
            }

            if (events[most].Tokens <= 1)
            {
                break; // fewer tokens than events: the rest stay at zero
            }

            events[most].Tokens--;
            events[i].Tokens = 1;
        }

        TokensFrom = EventTokenSource.Usage;
    }

    /// <summary>Generated tokens of the response: the sum over its events.</summary>
    public int EventTokens
    {
        get
        {
            int n = 0;
            foreach (StreamEvent e in Events)
            {
                n += e.Tokens;
            }

            return n;
        }
    }
}

/// <summary>A stream whose owner keeps a <see cref="StreamRecord"/> for a remote endpoint to fill (sent, first byte, events, usage, failure).</summary>
public interface IRecordingLlmStream : ILlmStream
{
    StreamRecord Record { get; }
}
