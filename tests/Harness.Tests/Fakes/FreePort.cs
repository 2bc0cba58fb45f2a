using System.Net;
using System.Net.Sockets;

namespace Harness.Tests.Fakes;

/// <summary>A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it).</summary>
public static class FreePort
{
    public static int Get()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
