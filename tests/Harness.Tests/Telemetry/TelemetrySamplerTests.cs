using Harness.Measurement;
using Harness.Telemetry;
using Harness.Tests.Fakes;

namespace Harness.Tests.Telemetry;

public class TelemetrySamplerTests
{
    private readonly FakeClock _clock = FakeClock.Milliseconds();

    [Fact]
    public void Reads_on_the_measured_phase_edges_so_the_window_is_bracketed()
    {
        var nvml = new FakeNvml(1);
        var sampler = new TelemetrySampler([new GpuSource(nvml, _clock.Frequency)], _clock, TimeSpan.FromMilliseconds(100), background: false);

        sampler.PhaseStarted(RunPhases.WarmUp, _clock.Timestamp);
        Assert.Equal(0, nvml.Reads);

        long start = _clock.Timestamp;
        sampler.PhaseStarted(RunPhases.Measuring, start);
        _clock.AdvanceMs(100);
        sampler.SampleNow();
        _clock.AdvanceMs(100);
        long end = _clock.Timestamp;
        sampler.PhaseStarted(RunPhases.Done, end);
        sampler.PhaseStarted(RunPhases.Done, end); // idempotent

        TelemetryReport report = sampler.Report(new TelemetryWindow(start, end, _clock.Frequency));
        SourceHealth health = report.Sources.Single();
        Assert.Equal(3, nvml.Reads);
        Assert.True(health.CoversWindow);
        Assert.Equal(3, health.Samples);
        Assert.Equal(0.1, health.MaxGapS);
        Assert.False(health.Stalled);
        Assert.Null(report.Note);
    }

    [Fact]
    public void A_source_that_throws_is_recorded_and_read_again()
    {
        var nvml = new FakeNvml { Fail = new InvalidOperationException("GPU is lost") };
        var sampler = new TelemetrySampler([new GpuSource(nvml, _clock.Frequency)], _clock, TimeSpan.FromMilliseconds(100), background: false);
        long start = _clock.Timestamp;
        sampler.Start();
        _clock.AdvanceMs(100);
        sampler.SampleNow();
        nvml.Fail = null;
        _clock.AdvanceMs(100);
        sampler.Stop();

        SourceHealth health = sampler.Report(new TelemetryWindow(start, _clock.Timestamp, _clock.Frequency)).Sources.Single();

        Assert.Equal(2, health.Errors);
        Assert.Equal(1, health.Samples);
        Assert.False(health.CoversWindow);
        Assert.Equal("InvalidOperationException: GPU is lost", health.ErrorMessages.Single().Message);
        Assert.Equal(2, health.ErrorMessages.Single().Count);
    }

    [Fact]
    public void Unavailable_sources_are_skipped_and_named_in_the_note()
    {
        var sampler = new TelemetrySampler([new GpuSource(FakeNvml.Missing, _clock.Frequency)], _clock, TimeSpan.FromMilliseconds(100), background: false);
        sampler.Start();
        sampler.Stop();

        TelemetryReport report = sampler.Report(new TelemetryWindow(0, 1, _clock.Frequency));

        Assert.Contains("gpu: NVML", report.Note);
        Assert.NotNull(report.Sources.Single().Unavailable);
        Assert.Equal(0, report.Sources.Single().Samples);
    }

    [Fact]
    public void The_background_thread_samples_until_stopped()
    {
        var nvml = new FakeNvml(1);
        using var sampler = new TelemetrySampler([new GpuSource(nvml, StopwatchClock.Instance.Frequency)], StopwatchClock.Instance, TimeSpan.FromMilliseconds(10));

        sampler.Start();
        SpinWait.SpinUntil(() => nvml.Reads >= 4, TimeSpan.FromSeconds(30));
        sampler.Stop();
        int reads = nvml.Reads;

        Assert.True(reads >= 4, $"{reads} readings");
        Assert.False(sampler.Stalled);
        Thread.Sleep(50);
        Assert.Equal(reads, nvml.Reads);
    }

    [Fact]
    public void A_source_that_hangs_does_not_hold_up_the_run_and_is_reported_stalled()
    {
        using var release = new ManualResetEventSlim();
        var hanging = new HangingSource(release);
        var sampler = new TelemetrySampler([hanging], StopwatchClock.Instance, TimeSpan.FromMilliseconds(10));
        long start = StopwatchClock.Instance.Timestamp;
        sampler.Start(); // the first reading is taken here and returns; the thread's next one hangs
        hanging.HangFromNow = true;
        SpinWait.SpinUntil(() => hanging.Hanging, TimeSpan.FromSeconds(30));

        sampler.Stop();
        TelemetryReport report = sampler.Report(new TelemetryWindow(start, StopwatchClock.Instance.Timestamp, StopwatchClock.Instance.Frequency));
        release.Set();

        Assert.True(sampler.Stalled);
        Assert.True(report.Sources.Single().Stalled);
        Assert.False(report.Sources.Single().CoversWindow);
        Assert.Contains("did not finish its last reading", report.Note);
        sampler.Dispose();
    }

    private sealed class HangingSource(ManualResetEventSlim release) : ITelemetrySource
    {
        public volatile bool HangFromNow;
        public volatile bool Hanging;

        public string Name => "gpu";

        public string? UnavailableReason => null;

        public void Sample(long timestamp, bool windowEdge = false)
        {
            if (HangFromNow)
            {
                Hanging = true;
                release.Wait();
            }
        }

        public void Contribute(TelemetryWindow window, TelemetryReport report)
        {
        }

        public void Dispose()
        {
        }
    }
}
