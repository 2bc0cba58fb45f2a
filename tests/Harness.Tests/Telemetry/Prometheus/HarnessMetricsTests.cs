using System.Text;
using System.Text.RegularExpressions;
using Harness.Hardware;
using Harness.Measurement;
using Harness.Results;
using Harness.Telemetry;
using Harness.Telemetry.Prometheus;
using Harness.Tests.Fakes;

namespace Harness.Tests.Telemetry.Prometheus;

public partial class HarnessMetricsTests
{
    private static readonly RunLabels Labels = new("onnx:cuda", "resnet18", "concurrency:2");
    private readonly FakeClock _clock = FakeClock.Milliseconds();

    internal static async Task<string> Export(HarnessMetrics metrics)
    {
        using var stream = new MemoryStream();
        await metrics.Registry.CollectAndExportAsTextAsync(stream);
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>The value of the one series of <paramref name="name"/> whose labels include <paramref name="labels"/>.</summary>
    internal static double Value(string exposition, string name, string labels = "")
    {
        var lines = exposition.Split('\n').Where(l => l.StartsWith(name + "{", StringComparison.Ordinal) && l.Contains(labels, StringComparison.Ordinal)).ToList();
        Assert.True(lines.Count == 1, $"{lines.Count} series of {name} with {labels}:\n{exposition}");
        return double.Parse(lines[0][(lines[0].LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>A finished run with every figure the result gauges publish: 120 units/s, p50 8 ms, 900 J.</summary>
    internal static ResultDocument FinishedRun(bool valid = true) => new()
    {
        Valid = valid,
        Metrics = new ResultMetrics
        {
            ThroughputPerS = 120,
            DurationS = 30,
            EnergyJ = 900,
            AvgPowerW = 30,
            JoulesPerUnit = 0.25,
            LatencyMs = new Harness.Measurement.DistributionSummary { Count = 10, P50 = 8, P90 = 9, P95 = 9.5, P99 = 12, P999 = 12, Mean = 8.2, Min = 7, Max = 12 },
        },
    };

    [Fact]
    public async Task Counts_measured_requests_by_outcome_with_units_and_latency()
    {
        var metrics = new HarnessMetrics(Labels, _clock);
        metrics.PhaseStarted(RunPhases.Measuring, _clock.Timestamp);
        for (int i = 0; i < 10; i++)
        {
            metrics.RequestEnded(RequestOutcome.Ok, latencyTicks: 20, inputUnits: 3, outputUnits: 7); // 20 ms
        }

        metrics.RequestEnded(RequestOutcome.Timeout, 5000, 0, 0);
        _clock.AdvanceMs(1500);

        string text = await Export(metrics);

        Assert.Equal(10, Value(text, "harness_requests_total", "outcome=\"ok\""));
        Assert.Equal(1, Value(text, "harness_requests_total", "outcome=\"timeout\""));
        Assert.Equal(0, Value(text, "harness_requests_total", "outcome=\"error\""));
        Assert.Equal(30, Value(text, "harness_input_units_total"));
        Assert.Equal(70, Value(text, "harness_output_units_total"));
        Assert.Equal(10, Value(text, "harness_request_latency_seconds_count"));
        Assert.Equal(0.2, Value(text, "harness_request_latency_seconds_sum"), 9);
        Assert.Equal(1, Value(text, "harness_run_phase", "phase=\"measuring\""));
        Assert.Equal(0, Value(text, "harness_run_phase", "phase=\"warm-up\""));
        Assert.Equal(1.5, Value(text, "harness_measured_duration_seconds"), 9);
        Assert.Contains("backend=\"onnx:cuda\",workload=\"resnet18\",scenario=\"concurrency:2\"", text);
    }

    [Fact]
    public void Counting_a_request_allocates_nothing()
    {
        var metrics = new HarnessMetrics(Labels, _clock);

        // The first pass initializes lazily (every histogram bucket the values reach) and gives the
        // JIT its chance to recompile; the runtime's own tiering work can still land on this thread
        // once, so steady state is the best of three passes. An allocation per request shows in all.
        var perPass = new long[4];
        for (int pass = 0; pass < perPass.Length; pass++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 10_000; i++)
            {
                metrics.RequestEnded(RequestOutcome.Ok, 20 + i, 1, 1);
            }

            perPass[pass] = GC.GetAllocatedBytesForCurrentThread() - before;
        }

        Assert.True(perPass.Skip(1).Min() == 0, $"bytes allocated per pass of 10,000 requests: {string.Join(", ", perPass)}");
    }

    [Fact]
    public async Task Hardware_gauges_come_from_the_samplers_latest_readings()
    {
        var nvml = new FakeNvml(1);
        var files = new FakeSystemFiles();
        files.SetProcStat((100, 100));
        files.SetProcessStat(250, 50, 1000);
        var sampler = new TelemetrySampler(
            [new GpuSource(nvml, _clock.Frequency, energyInterval: TimeSpan.Zero), new CpuSource(_clock.Frequency, files, 100, 4096)], _clock, TimeSpan.FromMilliseconds(100), background: false);
        var metrics = new HarnessMetrics(Labels, _clock, sampler);
        nvml.Set(0, new GpuReading(300, 1_000_000, 0.9, 0.4, 8L << 30, 1980, 3201, 65, 0x4));
        sampler.Start();
        _clock.AdvanceMs(1000);
        nvml.Set(0, new GpuReading(310, 1_300_000, 0.95, 0.4, 8L << 30, 1980, 3201, 66, 0x4));
        files.SetProcStat((175, 125));
        sampler.SampleNow();

        string text = await Export(metrics);

        Assert.Equal(310, Value(text, "harness_gpu_power_watts", "device=\"gpu0\""));
        Assert.Equal(300, Value(text, "harness_gpu_energy_joules_total", "device=\"gpu0\""));
        Assert.Equal(0.95, Value(text, "harness_gpu_utilization_ratio", "device=\"gpu0\""));
        Assert.Equal(1.98e9, Value(text, "harness_gpu_sm_clock_hertz", "device=\"gpu0\""));
        Assert.Equal(66, Value(text, "harness_gpu_temperature_celsius", "device=\"gpu0\""));
        Assert.Equal(8L << 30, Value(text, "harness_gpu_memory_used_bytes", "device=\"gpu0\""));
        Assert.Equal(1, Value(text, "harness_gpu_throttle_seconds_total", "reason=\"sw_power_cap\""));
        Assert.Equal(0, Value(text, "harness_gpu_throttle_seconds_total", "reason=\"hw_thermal\""));
        Assert.Equal(0.75, Value(text, "harness_cpu_utilization_ratio"));
        Assert.Equal(3, Value(text, "harness_process_cpu_seconds_total"));
        Assert.Equal(2, Value(text, "harness_telemetry_samples_total", "source=\"gpu\""));
        Assert.DoesNotContain("harness_cpu_package_energy_joules_total", text); // no RAPL here
    }

    [Fact]
    public async Task Result_gauges_appear_only_once_the_run_is_finished()
    {
        var metrics = new HarnessMetrics(Labels, _clock);
        Assert.DoesNotContain("harness_result_valid{", await Export(metrics));

        metrics.SetResult(FinishedRun());
        string text = await Export(metrics);

        Assert.Equal(1, Value(text, "harness_result_valid"));
        Assert.Equal(120, Value(text, "harness_result_throughput_per_second"));
        Assert.Equal(0.008, Value(text, "harness_result_latency_seconds", "percentile=\"p50\""));
        Assert.Equal(900, Value(text, "harness_result_energy_joules"));
        Assert.Equal(0.25, Value(text, "harness_result_joules_per_unit"));
        Assert.True(Value(text, "harness_result_completion_timestamp_seconds") > 1.7e9);
    }

    [Fact]
    public async Task Every_name_follows_the_conventions_and_labels_stay_bounded()
    {
        var nvml = new FakeNvml(gpus: 2);
        var files = new FakeSystemFiles();
        files.SetProcStat((1, 1));
        var sampler = new TelemetrySampler([new GpuSource(nvml, _clock.Frequency), new CpuSource(_clock.Frequency, files, 100, 4096)], _clock, TimeSpan.FromMilliseconds(100), background: false);
        var metrics = new HarnessMetrics(Labels, _clock, sampler);
        nvml.Set(0, new GpuReading(1, 1, 1, 1, 1, 1, 1, 1, 4));
        sampler.Start();
        metrics.RequestEnded(RequestOutcome.Ok, 1, 1, 1);
        metrics.SetResult(FinishedRun());

        string text = await Export(metrics);

        string[] allowed = ["backend", "workload", "scenario", "outcome", "phase", "device", "reason", "source", "percentile", "le"];
        foreach (Match m in SeriesLine().Matches(text))
        {
            string name = m.Groups["name"].Value;
            Assert.StartsWith("harness_", name);
            Assert.DoesNotMatch("[A-Z]|_ms$|_milliseconds|_percent|_mb$|_kb$", name);
            foreach (Match l in LabelName().Matches(m.Groups["labels"].Value))
            {
                Assert.Contains(l.Groups[1].Value, allowed);
            }
        }

        foreach (Match t in TypeLine().Matches(text))
        {
            bool isCounter = t.Groups["type"].Value == "counter";
            Assert.Equal(isCounter, t.Groups["name"].Value.EndsWith("_total", StringComparison.Ordinal));
        }
    }

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)\{(?<labels>[^}]*)\} ", RegexOptions.Multiline)]
    private static partial Regex SeriesLine();

    [GeneratedRegex(@"(\w+)=""")]
    private static partial Regex LabelName();

    [GeneratedRegex(@"^# TYPE (?<name>\S+) (?<type>\S+)$", RegexOptions.Multiline)]
    private static partial Regex TypeLine();
}
