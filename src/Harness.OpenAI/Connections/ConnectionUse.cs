namespace Harness.OpenAI.Connections;

/// <summary>
/// Which connection one request went out on, and what came back on it: set by the connection when the
/// request's first byte is written (on the sending thread, where <see cref="Current"/> names the
/// request), read by the endpoint when the send fails. One per worker thread, reused.
/// </summary>
internal sealed class ConnectionUse
{
    [ThreadStatic]
    private static ConnectionUse? t_current;

    private long _readAtStart;

    /// <summary>The request being sent on this thread; null outside a send.</summary>
    public static ConnectionUse? Current
    {
        get => t_current;
        set => t_current = value;
    }

    /// <summary>The connection the request was written on; null when none took its first byte.</summary>
    public KeepAliveConnection? Connection { get; private set; }

    /// <summary>True when that connection had carried an earlier response (a pooled one, not a fresh connect).</summary>
    public bool Reused { get; private set; }

    /// <summary>True when not one byte came back on the connection since the request was written.</summary>
    public bool NothingReceived => Connection is { } c && c.BytesRead == _readAtStart;

    public void Clear()
    {
        Connection = null;
        Reused = false;
        _readAtStart = 0;
    }

    /// <summary>Called by <paramref name="connection"/> when this request starts on it.</summary>
    public void Began(KeepAliveConnection connection, bool reused)
    {
        Connection = connection;
        Reused = reused;
        _readAtStart = connection.BytesRead;
    }
}
