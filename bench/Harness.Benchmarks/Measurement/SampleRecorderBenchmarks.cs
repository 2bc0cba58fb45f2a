using BenchmarkDotNet.Attributes;
using Harness.Engine;
using Harness.Measurement;

namespace Harness.Benchmarks.Measurement;

/// <summary>
/// The cost of recording one sample in the hot loop, in the steady state: every iteration starts
/// with fresh recorders and records exactly one raw chunk's worth of samples (the chunk the recorder
/// allocates up front), so neither the chunk growth nor the 4M-sample cap distorts the figure.
/// The growth cost is measured apart in <see cref="SampleRecorderGrowthBenchmarks"/>.
/// </summary>
[InvocationCount(InvocationsPerIteration)]
public class SampleRecorderBenchmarks
{
    /// <summary>Samples per benchmark call; the figures are per sample (OperationsPerInvoke).</summary>
    public const int SamplesPerInvoke = 1024;

    /// <summary>16 x 1024 = 16,384 samples per iteration: one raw chunk, allocated by the constructor.</summary>
    private const int InvocationsPerIteration = 16;

    private long[] _latencies = [];
    private SampleRecorder _recorder = null!;
    private WorkerRecorder _worker = null!;
    private RequestContext _context = null!;

    [GlobalSetup]
    public void GlobalSetup()
    {
        _latencies = SyntheticLatencies.Ticks(SamplesPerInvoke, StopwatchClock.Instance.Frequency, seed: 1);
        TieredJitWarmup.Run(() =>
        {
            IterationSetup();
            for (int i = 0; i < InvocationsPerIteration; i++)
            {
                RecordSample();
                RecordRequest();
                MarkToken();
            }
        });
    }

    [IterationSetup]
    public void IterationSetup()
    {
        long f = StopwatchClock.Instance.Frequency;
        _recorder = new SampleRecorder(f);
        _worker = new WorkerRecorder(f);
        _context = new RequestContext(StopwatchClock.Instance, 0, _worker);
    }

    /// <summary>SampleRecorder.Record: HDR histogram plus the raw store.</summary>
    [Benchmark(OperationsPerInvoke = SamplesPerInvoke)]
    public long RecordSample()
    {
        long[] values = _latencies;
        for (int i = 0; i < values.Length; i++)
        {
            _recorder.Record(values[i]);
        }

        return _recorder.Count;
    }

    /// <summary>What the engine records into a worker's recorder for one ok request.</summary>
    [Benchmark(OperationsPerInvoke = SamplesPerInvoke)]
    public long RecordRequest()
    {
        long[] values = _latencies;
        WorkerRecorder w = _worker;
        for (int i = 0; i < values.Length; i++)
        {
            w.Count(RequestOutcome.Ok);
            w.LastEndTimestamp = Math.Max(w.LastEndTimestamp, i);
            w.Latency.Record(values[i]);
            w.InputUnits += 1;
            w.OutputUnits += 1;
        }

        return w.Latency.Count;
    }

    /// <summary>RequestContext.MarkToken: a clock read plus one inter-token sample into the worker's recorder.</summary>
    [Benchmark(OperationsPerInvoke = SamplesPerInvoke)]
    public long MarkToken()
    {
        RequestContext c = _context;
        for (int i = 0; i < SamplesPerInvoke; i++)
        {
            c.MarkToken();
        }

        return _worker.InterTokenLatency.Count;
    }
}

/// <summary>
/// Recording past the first raw chunk: one 128 KiB chunk per 16,384 samples holds the raw values
/// themselves (8 bytes each), so this shows 8 B per sample amortized and no per-sample object.
/// </summary>
[InvocationCount(InvocationsPerIteration)]
public class SampleRecorderGrowthBenchmarks
{
    /// <summary>1024 x 1024 = 1M samples per iteration: 63 chunks beyond the first.</summary>
    private const int InvocationsPerIteration = 1024;

    private long[] _latencies = [];
    private SampleRecorder _recorder = null!;

    [GlobalSetup]
    public void GlobalSetup()
    {
        _latencies = SyntheticLatencies.Ticks(SampleRecorderBenchmarks.SamplesPerInvoke, StopwatchClock.Instance.Frequency, seed: 1);
        TieredJitWarmup.Run(() =>
        {
            IterationSetup();
            for (int i = 0; i < InvocationsPerIteration; i++)
            {
                RecordSampleWithGrowth();
            }
        });
    }

    [IterationSetup]
    public void IterationSetup() => _recorder = new SampleRecorder(StopwatchClock.Instance.Frequency);

    [Benchmark(OperationsPerInvoke = SampleRecorderBenchmarks.SamplesPerInvoke)]
    public long RecordSampleWithGrowth()
    {
        long[] values = _latencies;
        for (int i = 0; i < values.Length; i++)
        {
            _recorder.Record(values[i]);
        }

        return _recorder.Count;
    }
}
