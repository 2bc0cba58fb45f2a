using BenchmarkDotNet.Attributes;
using Harness.Hardware;
using Harness.Measurement;
using Harness.Telemetry.Prometheus;

namespace Harness.Telemetry.Benchmarks;

/// <summary>
/// One reading of each source, and one request counted in the Prometheus metrics. A reading's mean
/// time over the interval (100 ms) is the sampler's share of one core; the metric update must not allocate.
/// </summary>
[MemoryDiagnoser]
public class TelemetryBenchmarks
{
    private CpuSource _cpu = null!;
    private GpuSource? _gpu;
    private NvmlLibrary? _nvml;
    private HarnessMetrics _metrics = null!;
    private long _t;

    [GlobalSetup]
    public void Setup()
    {
        _cpu = new CpuSource(StopwatchClock.Instance.Frequency, capacity: 1 << 20);
        _nvml = new NvmlLibrary();
        _gpu = _nvml.Available && _nvml.ListGpus().Count > 0 ? new GpuSource(_nvml, StopwatchClock.Instance.Frequency, capacity: 1 << 20) : null;
        _metrics = new HarnessMetrics(new RunLabels("onnx:cuda", "resnet18", "single"), StopwatchClock.Instance);
    }

    [GlobalCleanup]
    public void Cleanup() => _nvml?.Dispose();

    /// <summary>/proc/stat, /proc/self/stat and RAPL where readable.</summary>
    [Benchmark]
    public void CpuSourceReading() => _cpu.Sample(++_t);

    /// <summary>Every NVML query of every GPU; returns at once where there is no NVML.</summary>
    [Benchmark]
    public void GpuSourceReading() => _gpu?.Sample(++_t);

    /// <summary>What the engine calls per measured request when metrics are on.</summary>
    [Benchmark]
    public void MetricsRequestEnded() => _metrics.RequestEnded(RequestOutcome.Ok, 123_456, 1, 1);
}
