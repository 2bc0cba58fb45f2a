using System.Net;
using System.Net.Sockets;
using Harness.Telemetry.Prometheus;
using Harness.Tests.Fakes;

namespace Harness.Tests.Telemetry.Prometheus;

public class MetricsEndpointTests
{
    [Theory]
    [InlineData("9464", "127.0.0.1", 9464)]
    [InlineData(":9464", "127.0.0.1", 9464)]
    [InlineData("127.0.0.1:9100", "127.0.0.1", 9100)]
    [InlineData("localhost:9464", "localhost", 9464)]
    [InlineData("[::1]:9464", "[::1]", 9464)]
    [InlineData("0.0.0.0:9464", "+", 9464)]
    [InlineData("*:9464", "+", 9464)]
    [InlineData("10.1.2.3:9464", "10.1.2.3", 9464)]
    public void Parses_addresses_and_binds_loopback_unless_told_otherwise(string text, string host, int port)
    {
        Assert.Equal((host, port), MetricsEndpoint.ParseAddress(text));
    }

    [Theory]
    [InlineData("")]
    [InlineData("abc")]
    [InlineData("127.0.0.1:0")]
    [InlineData("127.0.0.1:70000")]
    [InlineData("::1:9464")]
    [InlineData("host/x:9464")]
    public void Rejects_bad_addresses_as_bad_input(string text)
    {
        HarnessException e = Assert.Throws<HarnessException>(() => MetricsEndpoint.ParseAddress(text));
        Assert.Equal(ExitCodes.BadInput, e.ExitCode);
    }

    [Fact]
    public void A_port_in_use_is_bad_input_with_a_clear_sentence()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        int port = ((IPEndPoint)taken.LocalEndpoint).Port;

        HarnessException e = Assert.Throws<HarnessException>(() => MetricsEndpoint.Start($"127.0.0.1:{port}", new HarnessMetrics(new("a:cpu", "w", "single"), FakeClock.Milliseconds()).Registry));

        Assert.Equal(ExitCodes.BadInput, e.ExitCode);
        Assert.Contains($"Cannot serve metrics on 127.0.0.1:{port}", e.Message);
        Assert.Contains("port", e.Message);
    }

    [Fact]
    public async Task Serves_the_text_exposition_on_slash_metrics()
    {
        int port = FreePort.Get();
        var metrics = new HarnessMetrics(new("onnx:cpu", "minilm", "single"), FakeClock.Milliseconds());
        using MetricsEndpoint endpoint = MetricsEndpoint.Start($"127.0.0.1:{port}", metrics.Registry);
        using var http = new HttpClient();

        HttpResponseMessage response = await http.GetAsync(endpoint.Url);
        string body = await response.Content.ReadAsStringAsync();

        Assert.Equal($"http://127.0.0.1:{port}/metrics", endpoint.Url);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType!.ToString());
        Assert.Contains("harness_requests_total{outcome=\"ok\",backend=\"onnx:cpu\",workload=\"minilm\",scenario=\"single\"} 0", body);
        Assert.Equal(1, metrics.Collections);
        Assert.Equal(1, endpoint.Served);
    }
}
