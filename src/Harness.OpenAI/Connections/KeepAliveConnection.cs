using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace Harness.OpenAI.Connections;

/// <summary>
/// One TCP connection of the client, made by the handler's ConnectCallback. It stays a
/// <see cref="NetworkStream"/>, so the pool still polls its socket before reusing it and a synchronous
/// request still reads on its own thread. On top of the socket it:
/// <list type="bullet">
/// <item>marks where each request starts (its first write after a response), so a send that fails can
/// tell whether it went out on a reused connection and whether any byte came back
/// (<see cref="ConnectionUse"/>);</item>
/// <item>reads each response's head before the pool parses it (plain HTTP only), counts the responses
/// and follows the server's <c>Keep-Alive: max=N</c>. N counts the requests the connection may still
/// carry from this response on, this one included: exact for a server that sends the same N on every
/// response (cpp-httplib, llama.cpp) and one short for one that counts down (Apache). When the
/// response just read is the last one allowed and the server did not say <c>Connection: close</c>,
/// that line is added to the head, so the handler closes the connection after the response instead of
/// returning it to the pool. SocketsHttpHandler itself already honours <c>Connection: close</c>,
/// <c>max=0</c> and <c>timeout=T</c> (it reuses a connection idle for less than T - 1 s only).</item>
/// </list>
/// </summary>
internal sealed class KeepAliveConnection : NetworkStream
{
    /// <summary>A head longer than this is handed over unread (and its response not counted).</summary>
    private const int MaxHead = 64 * 1024;

    private static readonly byte[] CloseLine = "Connection: close\r\n"u8.ToArray();

    private readonly bool _inspect;

    /// <summary>
    /// The socket's own stream, which does the I/O: a base call from here would bind to Stream's span
    /// methods (the reference assembly does not list NetworkStream's overrides) and come back to this one.
    /// </summary>
    private readonly NetworkStream _inner;
    private byte[] _head = new byte[4096];
    private int _headLength;
    private byte[] _pending = [];
    private int _pendingOffset;
    private int _pendingLength;
    private bool _writing;
    private bool _inHead;
    private int _requests;
    private long _budget = long.MaxValue;
    private long _bytesRead;

    /// <param name="socket">The connected socket; the stream owns it.</param>
    /// <param name="inspect">Read the response heads (plain HTTP); over TLS the heads pass encrypted below this stream.</param>
    public KeepAliveConnection(Socket socket, bool inspect)
        : base(socket, ownsSocket: true)
    {
        _inner = new NetworkStream(socket, ownsSocket: false);
        _inspect = inspect;
    }

    /// <summary>Bytes read from the socket so far.</summary>
    public long BytesRead => Volatile.Read(ref _bytesRead);

    /// <summary>Final responses whose head was read.</summary>
    public int Responses { get; private set; }

    /// <summary>True when the server's Keep-Alive max ended this connection (the client added <c>Connection: close</c>).</summary>
    public bool ClosedAtMax { get; private set; }

    public override int Read(Span<byte> buffer)
    {
        if (_pendingLength > 0)
        {
            return Serve(buffer);
        }

        if (!_inHead || buffer.Length == 0)
        {
            return Counted(_inner.Read(buffer));
        }

        while (true)
        {
            EnsureRoom();
            if (TakeHead(Counted(_inner.Read(_head.AsSpan(_headLength)))))
            {
                return Serve(buffer);
            }
        }
    }

    public override int Read(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        return Read(buffer.AsSpan(offset, count));
    }

    public override int ReadByte()
    {
        Span<byte> one = stackalloc byte[1];
        return Read(one) == 0 ? -1 : one[0];
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_pendingLength > 0)
        {
            return new ValueTask<int>(Serve(buffer.Span));
        }

        if (_inHead && buffer.Length > 0)
        {
            return ReadHeadAsync(buffer, cancellationToken);
        }

        ValueTask<int> read = _inner.ReadAsync(buffer, cancellationToken);
        return read.IsCompletedSuccessfully ? new ValueTask<int>(Counted(read.Result)) : CountedAsync(read);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        ValidateBufferArguments(buffer, offset, count);
        return ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }

    public override IAsyncResult BeginRead(byte[] buffer, int offset, int count, AsyncCallback? callback, object? state) =>
        TaskToAsyncResult.Begin(ReadAsync(buffer, offset, count, CancellationToken.None), callback, state);

    public override int EndRead(IAsyncResult asyncResult) => TaskToAsyncResult.End<int>(asyncResult);

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        Starting();
        _inner.Write(buffer);
    }

    public override void Write(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        Write(buffer.AsSpan(offset, count));
    }

    public override void WriteByte(byte value) => Write([value]);

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Starting();
        return _inner.WriteAsync(buffer, cancellationToken);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        ValidateBufferArguments(buffer, offset, count);
        return WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }

    public override IAsyncResult BeginWrite(byte[] buffer, int offset, int count, AsyncCallback? callback, object? state) =>
        TaskToAsyncResult.Begin(WriteAsync(buffer, offset, count, CancellationToken.None), callback, state);

    public override void EndWrite(IAsyncResult asyncResult) => TaskToAsyncResult.End(asyncResult);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inner.Dispose();
        }

        base.Dispose(disposing);
    }

    /// <summary>The first write after a response (or the first ever) starts a request: HTTP/1.1 without pipelining.</summary>
    private void Starting()
    {
        if (_writing)
        {
            return;
        }

        _writing = true;
        _inHead = _inspect;
        _headLength = 0;
        ConnectionUse.Current?.Began(this, reused: _requests > 0);
        _requests++;
    }

    private int Counted(int n)
    {
        if (n > 0)
        {
            Volatile.Write(ref _bytesRead, _bytesRead + n);
            _writing = false;
        }

        return n;
    }

    private async ValueTask<int> CountedAsync(ValueTask<int> read) => Counted(await read.ConfigureAwait(false));

    private async ValueTask<int> ReadHeadAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        while (true)
        {
            EnsureRoom();
            int n = Counted(await _inner.ReadAsync(_head.AsMemory(_headLength), cancellationToken).ConfigureAwait(false));
            if (TakeHead(n))
            {
                return Serve(buffer.Span);
            }
        }
    }

    private void EnsureRoom()
    {
        if (_head.Length - _headLength < 1024)
        {
            Array.Resize(ref _head, Math.Max(4096, _head.Length * 2));
        }
    }

    private int Serve(Span<byte> buffer)
    {
        int n = Math.Min(buffer.Length, _pendingLength);
        _pending.AsSpan(_pendingOffset, n).CopyTo(buffer);
        _pendingOffset += n;
        _pendingLength -= n;
        return n;
    }

    /// <summary>Takes <paramref name="n"/> more bytes of a head; true when they (and body bytes after it) are ready to hand over.</summary>
    private bool TakeHead(int n)
    {
        int from = Math.Max(0, _headLength - 3);
        _headLength += n;
        ReadOnlySpan<byte> head = _head.AsSpan(0, _headLength);
        int prefix = Math.Min(head.Length, 5);
        if (n == 0 || !head[..prefix].SequenceEqual("HTTP/"u8[..prefix]) || _headLength >= MaxHead)
        {
            // The end of the stream, or no head to read: hand over what came as it came.
            Release(-1);
            return true;
        }

        int end = HeadEnd(head, from);
        if (end < 0)
        {
            return false;
        }

        Release(Decide(head[..end]));
        return true;
    }

    /// <summary>Where a head ends (after its empty line), or -1 when its empty line has not arrived.</summary>
    private static int HeadEnd(ReadOnlySpan<byte> head, int from)
    {
        for (int i = from; i < head.Length; i++)
        {
            if (head[i] != '\n')
            {
                continue;
            }

            if (i + 1 < head.Length && head[i + 1] == '\n')
            {
                return i + 2;
            }

            if (i + 2 < head.Length && head[i + 1] == '\r' && head[i + 2] == '\n')
            {
                return i + 3;
            }
        }

        return -1;
    }

    /// <summary>Counts a final response and reads its Keep-Alive; returns where to add <c>Connection: close</c>, or -1.</summary>
    private int Decide(ReadOnlySpan<byte> head)
    {
        int firstLine = head.IndexOf((byte)'\n');
        ReadOnlySpan<byte> status = head[..firstLine];
        if (status.Length >= 12 && status[9] == '1')
        {
            // An interim 1xx head (never sent for these requests): handed over, its final response not counted.
            return -1;
        }

        Responses++;
        bool close = false;
        long? max = null;
        ReadOnlySpan<byte> rest = head[(firstLine + 1)..];
        while (rest.Length > 0)
        {
            int lf = rest.IndexOf((byte)'\n');
            ReadOnlySpan<byte> line = (lf < 0 ? rest : rest[..lf]).TrimEnd((byte)'\r');
            rest = lf < 0 ? [] : rest[(lf + 1)..];
            int colon = line.IndexOf((byte)':');
            if (colon <= 0)
            {
                continue;
            }

            ReadOnlySpan<byte> name = line[..colon].Trim(" \t"u8);
            ReadOnlySpan<byte> value = line[(colon + 1)..];
            if (Ascii.EqualsIgnoreCase(name, "connection"u8))
            {
                close |= HasToken(value, "close"u8, out _);
            }
            else if (Ascii.EqualsIgnoreCase(name, "keep-alive"u8) && HasToken(value, "max"u8, out ReadOnlySpan<byte> n)
                && long.TryParse(n.Trim("\""u8), NumberStyles.None, CultureInfo.InvariantCulture, out long m))
            {
                max = m;
            }
        }

        if (max is { } allowed)
        {
            _budget = Math.Min(_budget, Responses - 1 + allowed);
        }

        if (close || Responses < _budget)
        {
            return -1;
        }

        ClosedAtMax = true;
        return head[^2] == '\r' ? head.Length - 2 : head.Length - 1;
    }

    /// <summary>Whether a comma-separated header value holds <paramref name="name"/> (alone or as name=value), and its value.</summary>
    private static bool HasToken(ReadOnlySpan<byte> value, ReadOnlySpan<byte> name, out ReadOnlySpan<byte> parameter)
    {
        while (true)
        {
            int comma = value.IndexOf((byte)',');
            ReadOnlySpan<byte> item = (comma < 0 ? value : value[..comma]).Trim(" \t"u8);
            int eq = item.IndexOf((byte)'=');
            ReadOnlySpan<byte> key = eq < 0 ? item : item[..eq].Trim(" \t"u8);
            if (Ascii.EqualsIgnoreCase(key, name))
            {
                parameter = eq < 0 ? [] : item[(eq + 1)..].Trim(" \t"u8);
                return true;
            }

            if (comma < 0)
            {
                parameter = [];
                return false;
            }

            value = value[(comma + 1)..];
        }
    }

    /// <summary>
    /// Hands the head read so far (and the body bytes after it) to the next reads, with <c>Connection: close</c> added at
    /// <paramref name="closeAt"/> when that is not -1.
    /// </summary>
    private void Release(int closeAt)
    {
        if (closeAt < 0)
        {
            (_pending, _head) = (_head, _pending);
            _pendingLength = _headLength;
        }
        else
        {
            int length = _headLength + CloseLine.Length;
            if (_pending.Length < length)
            {
                _pending = new byte[Math.Max(length, 4096)];
            }

            _head.AsSpan(0, closeAt).CopyTo(_pending);
            CloseLine.CopyTo(_pending.AsSpan(closeAt));
            _head.AsSpan(closeAt, _headLength - closeAt).CopyTo(_pending.AsSpan(closeAt + CloseLine.Length));
            _pendingLength = length;
        }

        _pendingOffset = 0;
        _headLength = 0;
        _inHead = false;
    }
}
