using Harness.Measurement;

namespace Harness.Telemetry;

/// <summary>
/// The composite of the telemetry sources: reads them all at a fixed interval on its own thread,
/// from just before the measured window opens until just after it closes (it observes the engine's
/// phases), stamping every reading with the run's clock. A source that throws is recorded and read
/// again next time; one that hangs is left behind when the run ends, and the result says so.
/// </summary>
public sealed class TelemetrySampler : IRunObserver, IDisposable
{
    private readonly IClock _clock;
    private readonly SourceState[] _sources;
    private readonly bool _background;
    private readonly ManualResetEventSlim _stop = new(false, spinCount: 0); // it waits 100 ms at a time: spinning first only burns CPU
    private Thread? _thread;
    private bool _started;
    private bool _stalled;

    /// <param name="background">False for tests: no thread, readings only through <see cref="SampleNow"/> and the phase calls.</param>
    public TelemetrySampler(IEnumerable<ITelemetrySource> sources, IClock clock, TimeSpan interval, bool background = true)
    {
        if (interval <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(interval), interval, "the sampling interval must be positive");
        }

        _clock = clock;
        _sources = sources.Select(s => new SourceState(s)).ToArray();
        Interval = interval;
        _background = background;
    }

    public TimeSpan Interval { get; }

    /// <summary>True when <see cref="Stop"/> gave up waiting for a reading that hung.</summary>
    public bool Stalled => _stalled;

    public IReadOnlyList<ITelemetrySource> Sources => _sources.Select(s => s.Source).ToList();

    /// <summary>How long <see cref="Stop"/> waits for the last reading before declaring the sampler stalled.</summary>
    public TimeSpan StopTimeout => TimeSpan.FromTicks(Math.Max(TimeSpan.FromSeconds(1).Ticks, Interval.Ticks * 5));

    /// <summary>Largest gap between readings inside the window that still counts as a live sampler.</summary>
    public TimeSpan AllowedGap => StopTimeout;

    /// <summary>Takes the first reading now and starts the periodic thread. Idempotent.</summary>
    public void Start()
    {
        if (_started)
        {
            return;
        }

        _started = true;
        SampleNow(windowEdge: true);
        if (_background)
        {
            _thread = new Thread(Loop) { IsBackground = true, Name = "harness-telemetry" };
            _thread.Start();
        }
    }

    /// <summary>Takes the last reading and stops the thread; if a source hangs, gives up after <see cref="StopTimeout"/>.</summary>
    public void Stop()
    {
        if (!_started || _stop.IsSet)
        {
            return;
        }

        _stop.Set();
        if (_thread is null)
        {
            SampleNow(windowEdge: true);
        }
        else if (!_thread.Join(StopTimeout))
        {
            _stalled = true;
        }
    }

    /// <summary>Reads every available source once; <paramref name="windowEdge"/> for the readings that bracket the window.</summary>
    public void SampleNow(bool windowEdge = false)
    {
        foreach (SourceState s in _sources)
        {
            if (s.Source.UnavailableReason is not null)
            {
                continue;
            }

            long t = _clock.Timestamp;
            try
            {
                s.Source.Sample(t, windowEdge);
                lock (s)
                {
                    s.Times.Add(t, default);
                }
            }
            catch (Exception e)
            {
                lock (s)
                {
                    s.Errors++;
                    s.Messages.Add($"{e.GetType().Name}: {e.Message}");
                }
            }
        }
    }

    public void PhaseStarted(string phase, long timestamp)
    {
        if (phase == RunPhases.Measuring)
        {
            Start();
        }
        else if (phase == RunPhases.Done)
        {
            Stop();
        }
    }

    public void RequestEnded(RequestOutcome outcome, long latencyTicks, int inputUnits, int outputUnits)
    {
    }

    /// <summary>Every source's summary of the window, with the health of each; energy accounting comes after.</summary>
    public TelemetryReport Report(TelemetryWindow window)
    {
        var report = new TelemetryReport
        {
            Enabled = true,
            IntervalMs = Interval.TotalMilliseconds,
            WindowS = window.Seconds,
        };
        var notes = new List<string>();
        foreach (SourceState s in _sources)
        {
            string? unavailable = s.Source.UnavailableReason;
            var health = new SourceHealth { Name = s.Source.Name, Unavailable = unavailable };
            report.Sources.Add(health);
            if (unavailable is not null)
            {
                notes.Add($"{s.Source.Name}: {unavailable}");
                s.Source.Contribute(window, report);
                continue;
            }

            lock (s)
            {
                ReadOnlySpan<long> t = s.Times.Timestamps;
                health.Samples = s.Times.Count;
                health.Errors = s.Errors;
                health.Stalled = _stalled;
                health.CoversWindow = t.Length > 0 && t[0] <= window.Start && t[^1] >= window.End;
                health.MaxGapS = Math.Round(window.ToSeconds(SampleMath.LongestGap(t, window.Start, window.End)), 3);
                health.ErrorMessages = s.Messages.Counts.Select(kv => new ErrorCount(kv.Key, kv.Value)).ToList();
            }

            if (_stalled)
            {
                notes.Add($"{s.Source.Name}: the sampler did not finish its last reading within {StopTimeout.TotalSeconds:0.#} s (a driver call hung)");
            }

            try
            {
                s.Source.Contribute(window, report);
            }
            catch (Exception e)
            {
                notes.Add($"{s.Source.Name}: summary failed: {e.GetType().Name}: {e.Message}");
            }
        }

        report.Note = notes.Count == 0 ? null : string.Join("; ", notes);
        return report;
    }

    public void Dispose()
    {
        Stop();
        if (_stalled)
        {
            return; // a source is still inside a call on the sampler thread: leave it be
        }

        foreach (SourceState s in _sources)
        {
            s.Source.Dispose();
        }

        _stop.Dispose();
    }

    private void Loop()
    {
        long interval = _clock.FromTimeSpan(Interval);
        long next = _clock.Timestamp + interval;
        while (true)
        {
            long wait = next - _clock.Timestamp;
            int ms = wait <= 0 ? 0 : (int)Math.Min(int.MaxValue, Math.Ceiling(wait * 1000.0 / _clock.Frequency));
            bool stopping = _stop.Wait(ms);
            SampleNow(windowEdge: stopping);
            if (stopping)
            {
                return;
            }

            next += interval;
            long now = _clock.Timestamp;
            if (next <= now)
            {
                next = now + interval; // fell behind (a slow read or a starved thread): the gap shows in the health
            }
        }
    }

    private sealed class SourceState(ITelemetrySource source)
    {
        public ITelemetrySource Source { get; } = source;

        /// <summary>Times of the readings that succeeded.</summary>
        public SampleBuffer<byte> Times { get; } = new();

        public long Errors { get; set; }

        public ErrorLog Messages { get; } = new();
    }
}
