using Harness.Measurement;
using Harness.Metrics;

namespace Harness.Decoding;

/// <summary>
/// The request-level endpoint of a decoder in this process: one device thread runs a
/// <see cref="ContinuousBatcher"/> over the <see cref="IStepDecoder"/>, iteration after iteration
/// while there is work, and sleeps (no spinning) when there is none or a batch window is open.
/// Streams are called on that thread, under the endpoint's lock: they must not block. A decoder
/// that throws fails every request, and every later one, with its exception.
/// </summary>
public sealed class InProcessLlmEndpoint : ILlmEndpoint
{
    private readonly IStepDecoder _decoder;
    private readonly bool _ownsDecoder;
    private readonly IClock _clock;
    private readonly object _gate = new();
    private readonly ContinuousBatcher _batcher;
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _device;
    private long _driverCpuTicks;
    private bool _exit;

    /// <param name="ownsDecoder">Dispose the decoder with the endpoint (false when it serves several endpoints one after another, e.g. the points of a sweep).</param>
    public InProcessLlmEndpoint(IStepDecoder decoder, BatchingOptions options, IClock? clock = null, bool ownsDecoder = true)
    {
        _decoder = decoder;
        _ownsDecoder = ownsDecoder;
        _clock = clock ?? StopwatchClock.Instance;
        _batcher = new ContinuousBatcher(decoder, options, _clock.Frequency);
        _device = new Thread(Loop) { IsBackground = true, Name = "harness-llm-device" };
        _device.Start();
    }

    public string Name => _decoder.Name;

    /// <summary>The decoder's facts and, for a <see cref="BatchDecoder"/>, its cache's peak so far (read when a result is built).</summary>
    public IReadOnlyDictionary<string, object?> Details
    {
        get
        {
            var details = new Dictionary<string, object?>(_decoder.Details) { [ConfigKeys.LlmBackend] = _decoder.Name };
            if (_decoder is BatchDecoder b)
            {
                details[ConfigKeys.PeakCacheTokens] = b.PeakCacheTokens;
            }

            return details;
        }
    }

    public int MaxBatch => _batcher.MaxBatch;

    public LlmBatching Batching => _batcher.Batching;

    /// <summary>CPU time the decoder's calls took on the device thread (its driver's cost, not the callers').</summary>
    public TimeSpan DriverCpu => TimeSpan.FromTicks(Interlocked.Read(ref _driverCpuTicks));

    public void Submit(LlmRequest request, ILlmStream stream)
    {
        lock (_gate)
        {
            _batcher.Submit(request, stream, _clock.Timestamp);
            Monitor.Pulse(_gate);
        }
    }

    public void Cancel(LlmRequest request)
    {
        lock (_gate)
        {
            _batcher.Cancel(request, _clock.Timestamp);
            Monitor.Pulse(_gate);
        }
    }

    /// <summary>What the batcher holds now: for a server's gauges, and for tests that check that every slot came back.</summary>
    public LlmOccupancy Occupancy
    {
        get
        {
            lock (_gate)
            {
                return new LlmOccupancy(_batcher.Waiting, _batcher.InBatch, _batcher.MaxBatch - _batcher.FreeSlots, _batcher.MaxBatch);
            }
        }
    }

    public void Observe(IDeviceObserver observer)
    {
        lock (_gate)
        {
            _batcher.Observer = observer;
        }
    }

    /// <summary>Stops the device thread (an iteration in progress is cancelled where the decoder allows, else waited for at most 30 s).</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_exit)
            {
                return;
            }

            _exit = true;
            Monitor.Pulse(_gate);
        }

        _stop.Cancel();
        bool joined = _device.Join(TimeSpan.FromSeconds(30));
        _stop.Dispose();
        // A decoder still inside a step on a thread that did not stop is left alone rather than freed under it.
        if (!joined)
        {
            return;
        }

        if (_ownsDecoder)
        {
            _decoder.Dispose();
            return;
        }

        lock (_gate)
        {
            _batcher.ReleaseAll();
        }
    }

    private void Loop()
    {
        CancellationToken token = _stop.Token;
        while (true)
        {
            long start;
            lock (_gate)
            {
                while (true)
                {
                    if (_exit)
                    {
                        return;
                    }

                    start = _clock.Timestamp;
                    if (_batcher.Next(start))
                    {
                        break;
                    }

                    if (_batcher.NextTimer is { } due)
                    {
                        double ms = (due - _clock.Timestamp) * 1000.0 / _clock.Frequency;
                        if (ms > 0)
                        {
                            Monitor.Wait(_gate, TimeSpan.FromMilliseconds(Math.Min(ms, 250)));
                        }
                    }
                    else
                    {
                        Monitor.Wait(_gate);
                    }
                }
            }

            TimeSpan cpu0 = CpuTime.CurrentThread();
            try
            {
                _decoder.Step(_batcher.Joining, _batcher.Running, token);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                lock (_gate)
                {
                    _batcher.Fail(e);
                }

                return;
            }
            finally
            {
                Interlocked.Add(ref _driverCpuTicks, (CpuTime.CurrentThread() - cpu0).Ticks);
            }

            lock (_gate)
            {
                _batcher.Done(start, _clock.Timestamp);
            }
        }
    }
}

/// <summary>An in-process endpoint at one moment: requests waiting and in the batch, KV-cache slots in use of all its slots.</summary>
public readonly record struct LlmOccupancy(int Waiting, int Running, int SlotsInUse, int Slots);
