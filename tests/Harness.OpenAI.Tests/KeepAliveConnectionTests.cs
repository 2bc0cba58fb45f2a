using System.Net;
using System.Net.Sockets;
using System.Text;
using Harness.OpenAI.Connections;

namespace Harness.OpenAI.Tests;

/// <summary>
/// The client's connection on a raw loopback socket: response heads that arrive in pieces, with bare
/// LFs, or not as HTTP at all pass through byte for byte; the last response a Keep-Alive max allows
/// gets <c>Connection: close</c> before its empty line; each request says whether it went out on a
/// reused connection.
/// </summary>
public sealed class KeepAliveConnectionTests : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Socket _server;
    private readonly KeepAliveConnection _client;

    public KeepAliveConnectionTests()
    {
        _listener.Start();
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        socket.Connect(IPAddress.Loopback, ((IPEndPoint)_listener.LocalEndpoint).Port);
        _server = _listener.AcceptSocket();
        _client = new KeepAliveConnection(socket, inspect: true);
    }

    public void Dispose()
    {
        _client.Dispose();
        _server.Dispose();
        _listener.Stop();
        _listener.Dispose();
    }

    [Fact]
    public void A_head_in_pieces_and_the_body_after_it_pass_through_unchanged()
    {
        string response = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nKeep-Alive: timeout=5, max=100\r\n"
            + "Transfer-Encoding: chunked\r\n\r\n9\r\ndata: x\n\n\r\n";

        string read = Exchange(response, pieces: 5);

        Assert.Equal(response, read);
        Assert.Equal(1, _client.Responses);
        Assert.False(_client.ClosedAtMax);
    }

    [Theory]
    [InlineData("\r\n")]
    [InlineData("\n")]
    public void The_last_response_the_keep_alive_max_allows_gets_connection_close(string eol)
    {
        string Response(int max) => $"HTTP/1.1 200 OK{eol}Keep-Alive: timeout=5, max={max}{eol}Content-Length: 2{eol}{eol}ok";

        var first = new ConnectionUse();
        ConnectionUse.Current = first;
        string one = Exchange(Response(2), pieces: 1);
        var second = new ConnectionUse();
        ConnectionUse.Current = second;
        string two = Exchange(Response(2), pieces: 3, added: "Connection: close\r\n".Length);
        ConnectionUse.Current = null;

        Assert.Equal(Response(2), one);
        Assert.Equal($"HTTP/1.1 200 OK{eol}Keep-Alive: timeout=5, max=2{eol}Content-Length: 2{eol}Connection: close\r\n{eol}ok", two);
        Assert.True(_client.ClosedAtMax);
        Assert.False(first.Reused);
        Assert.True(second.Reused);
        Assert.Same(_client, second.Connection);
        Assert.False(second.NothingReceived);
    }

    [Fact]
    public void A_server_that_already_says_connection_close_is_left_as_it_is()
    {
        string response = "HTTP/1.1 200 OK\r\nConnection: close\r\nKeep-Alive: max=1\r\nContent-Length: 0\r\n\r\n";

        Assert.Equal(response, Exchange(response, pieces: 2));
        Assert.False(_client.ClosedAtMax);
    }

    [Fact]
    public void Bytes_that_are_not_an_http_head_pass_through_unread()
    {
        // A TLS record, as the connection sees it under https.
        string bytes = "\u0016\u0003\u0003\u0000\u0005hello\n\n";

        Assert.Equal(bytes, Exchange(bytes, pieces: 2));
        Assert.Equal(0, _client.Responses);
    }

    [Fact]
    public void A_request_with_nothing_back_says_so()
    {
        var use = new ConnectionUse();
        ConnectionUse.Current = use;
        _client.Write("POST / HTTP/1.1\r\n\r\n"u8);
        ConnectionUse.Current = null;

        Assert.Same(_client, use.Connection);
        Assert.False(use.Reused);
        Assert.True(use.NothingReceived);
    }

    /// <summary>
    /// Writes a request, has the server answer <paramref name="response"/> in pieces, and reads it (and
    /// <paramref name="added"/> bytes) back through the connection.
    /// </summary>
    private string Exchange(string response, int pieces, int added = 0)
    {
        _client.Write("POST /v1/chat/completions HTTP/1.1\r\nContent-Length: 0\r\n\r\n"u8);
        var request = new byte[4096];
        _server.Receive(request);
        byte[] bytes = Encoding.Latin1.GetBytes(response);
        var writer = new Thread(() =>
        {
            int size = (bytes.Length + pieces - 1) / pieces;
            for (int i = 0; i < bytes.Length; i += size)
            {
                _server.Send(bytes.AsSpan(i, Math.Min(size, bytes.Length - i)));
                Thread.Sleep(10);
            }
        });
        writer.Start();
        var read = new List<byte>();
        var buffer = new byte[7];
        while (read.Count < bytes.Length + added)
        {
            int n = _client.Read(buffer);
            Assert.NotEqual(0, n);
            read.AddRange(buffer.AsSpan(0, n));
        }

        writer.Join();
        return Encoding.Latin1.GetString([.. read]);
    }
}
