using Harness.Telemetry.Prometheus;
using Harness.Tests.Fakes;

namespace Harness.Tests.Telemetry.Prometheus;

public class PushgatewayClientTests
{
    [Fact]
    public void Grouping_key_goes_into_the_path_in_order()
    {
        string path = PushgatewayClient.GroupPath("harness", [new("instance", "node-1"), new("workload", "resnet18"), new("backend", "onnx:cuda")]);

        Assert.Equal("/metrics/job/harness/instance/node-1/workload/resnet18/backend/onnx%3Acuda", path);
    }

    [Fact]
    public void Values_with_a_slash_or_empty_use_the_base64_form()
    {
        string path = PushgatewayClient.GroupPath("j", [new("workload", "models/a.onnx"), new("instance", "")]);

        Assert.Equal("/metrics/job/j/workload@base64/bW9kZWxzL2Eub25ueA==/instance@base64/=", path);
    }

    [Theory]
    [InlineData("http://127.0.0.1:9091")]
    [InlineData("https://push.example:9091/base/")]
    public void Accepts_http_urls(string url) => Assert.NotNull(PushgatewayClient.ParseUrl(url));

    [Theory]
    [InlineData("127.0.0.1:9091")]
    [InlineData("ftp://x")]
    [InlineData("not a url")]
    public void Rejects_other_urls_as_bad_input(string url) =>
        Assert.Equal(ExitCodes.BadInput, Assert.Throws<HarnessException>(() => PushgatewayClient.ParseUrl(url)).ExitCode);

    [Fact]
    public async Task An_unreachable_gateway_throws_an_http_error_the_runner_turns_into_a_warning()
    {
        int port = FreePort.Get(); // nothing listens there
        using var client = new PushgatewayClient(new Uri($"http://127.0.0.1:{port}"), "harness", [new("instance", "x")]);

        await Assert.ThrowsAsync<HttpRequestException>(() => client.PushAsync(new HarnessMetrics(new("a:cpu", "w", "s"), FakeClock.Milliseconds()).Registry));
    }
}
