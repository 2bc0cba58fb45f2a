using Prometheus;

namespace Harness.Serving.Tests;

/// <summary>
/// Why serve's /metrics is written by hand (<see cref="ServerMetrics"/>): the prometheus-net the
/// harness references (8.2.1) refuses the colons of vLLM's names. Should an upgrade take them, this
/// fails, and the exposition can move onto a prometheus-net registry.
/// </summary>
public class PrometheusNetNamesTests
{
    [Fact]
    public void Prometheus_net_refuses_vllms_colon_names_and_takes_the_same_name_without_the_colon()
    {
        MetricFactory metrics = global::Prometheus.Metrics.WithCustomRegistry(global::Prometheus.Metrics.NewCustomRegistry());

        ArgumentException e = Assert.Throws<ArgumentException>(() => metrics.CreateGauge("vllm:num_requests_running", "Running."));

        Assert.Equal("Metric name 'vllm:num_requests_running' does not match regex '^[a-zA-Z_][a-zA-Z0-9_]*$'.", e.Message);
        Assert.Equal("vllm_num_requests_running", metrics.CreateGauge("vllm_num_requests_running", "Running.").Name);
    }
}
