using Harness.Decoding;

namespace Harness.OpenAI.Streaming;

/// <summary>Where a stream stands after the bytes read so far.</summary>
public enum StreamState
{
    Reading,

    /// <summary><c>data: [DONE]</c> arrived.</summary>
    Done,

    /// <summary>An error event, a malformed chunk or a malformed line: <see cref="StreamRecord.Failure"/> says which.</summary>
    Failed,
}

/// <summary>
/// Server-sent events over the response's bytes, as they are read: lines end at LF (a CR before it
/// is dropped) and are assembled across reads at the byte level, so a multi-byte UTF-8 character
/// split between two reads is whole again before any text is decoded (the JSON reader decodes
/// complete strings only). <c>:</c> lines are comments (pings); <c>data:</c> lines form the event,
/// which a blank line ends; <c>event:</c>, <c>id:</c> and <c>retry:</c> are allowed; <c>data: [DONE]</c>
/// ends the stream. Every event that ends within one read gets that read's timestamp. Any other
/// line is malformed and fails the request, as does a chunk that is not JSON. Buffers are kept
/// from request to request.
/// </summary>
public sealed class EventStreamReader
{
    /// <summary>A line or event longer than this fails the request (a server that never ends a line).</summary>
    public const int MaxLine = 16 << 20;

    private readonly ChunkReader _chunks = new();
    private byte[] _pending = new byte[4096];
    private int _pendingLength;
    private byte[] _data = new byte[8192];
    private int _dataLength;
    private bool _hasData;
    private bool _errorEvent;
    private StreamRecord _record = new();

    public StreamState State { get; private set; }

    public void Reset(StreamRecord record)
    {
        _record = record;
        _pendingLength = _dataLength = 0;
        _hasData = _errorEvent = false;
        State = StreamState.Reading;
    }

    /// <summary>Takes the bytes of one read, stamped <paramref name="timestamp"/>; stops at [DONE] or a failure (the rest is ignored).</summary>
    public StreamState Feed(ReadOnlySpan<byte> bytes, long timestamp)
    {
        while (State == StreamState.Reading && !bytes.IsEmpty)
        {
            int newline = bytes.IndexOf((byte)'\n');
            if (newline < 0)
            {
                Append(ref _pending, ref _pendingLength, bytes);
                return State;
            }

            if (_pendingLength == 0)
            {
                Line(bytes[..newline], timestamp);
            }
            else
            {
                Append(ref _pending, ref _pendingLength, bytes[..newline]);
                Line(_pending.AsSpan(0, _pendingLength), timestamp);
                _pendingLength = 0;
            }

            bytes = bytes[(newline + 1)..];
        }

        return State;
    }

    /// <summary>The end of the body: a last line without its newline, and an event without its blank line, still count (a trailing [DONE] or a complete chunk).</summary>
    public StreamState Finish(long timestamp)
    {
        if (State == StreamState.Reading && _pendingLength > 0)
        {
            Line(_pending.AsSpan(0, _pendingLength), timestamp);
            _pendingLength = 0;
        }

        if (State == StreamState.Reading && _hasData)
        {
            Dispatch(timestamp);
        }

        return State;
    }

    private void Line(ReadOnlySpan<byte> line, long timestamp)
    {
        if (!line.IsEmpty && line[^1] == (byte)'\r')
        {
            line = line[..^1];
        }

        if (line.IsEmpty)
        {
            if (_hasData)
            {
                Dispatch(timestamp);
            }

            _errorEvent = false;
            return;
        }

        if (line[0] == (byte)':')
        {
            _record.Comments++;
            return;
        }

        int colon = line.IndexOf((byte)':');
        ReadOnlySpan<byte> field = colon < 0 ? line : line[..colon];
        ReadOnlySpan<byte> value = colon < 0 ? default : line[(colon + 1)..];
        if (!value.IsEmpty && value[0] == (byte)' ')
        {
            value = value[1..];
        }

        if (field.SequenceEqual("data"u8))
        {
            if (_hasData)
            {
                Append(ref _data, ref _dataLength, "\n"u8);
            }

            Append(ref _data, ref _dataLength, value);
            _hasData = true;
        }
        else if (field.SequenceEqual("event"u8))
        {
            _errorEvent = value.SequenceEqual("error"u8);
        }
        else if (!field.SequenceEqual("id"u8) && !field.SequenceEqual("retry"u8))
        {
            Fail($"malformed line in the event stream: {ChunkReader.Excerpt(line)}");
        }
    }

    private void Dispatch(long timestamp)
    {
        ReadOnlySpan<byte> data = _data.AsSpan(0, _dataLength);
        _dataLength = 0;
        _hasData = false;
        if (data.SequenceEqual("[DONE]"u8))
        {
            _record.Done = true;
            State = StreamState.Done;
            return;
        }

        ChunkKind kind = _chunks.Read(data, _record, timestamp);
        if (kind == ChunkKind.Error || (_errorEvent && kind != ChunkKind.Malformed))
        {
            Fail($"error event mid-stream: {_chunks.Message ?? ChunkReader.Excerpt(data)}");
        }
        else if (kind == ChunkKind.Malformed)
        {
            Fail(_chunks.Message!);
        }
    }

    private void Fail(string reason)
    {
        _record.Failure = reason;
        State = StreamState.Failed;
    }

    private void Append(ref byte[] buffer, ref int length, ReadOnlySpan<byte> bytes)
    {
        if (length + bytes.Length > buffer.Length)
        {
            if (length + bytes.Length > MaxLine)
            {
                Fail($"a line or event of the stream passed {MaxLine >> 20} MiB without ending");
                return;
            }

            Array.Resize(ref buffer, Math.Max(buffer.Length * 2, length + bytes.Length));
        }

        bytes.CopyTo(buffer.AsSpan(length));
        length += bytes.Length;
    }
}
