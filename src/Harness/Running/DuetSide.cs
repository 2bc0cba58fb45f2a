using System.Globalization;
using Harness.Backends;
using Harness.Engine;
using Harness.Measurement;
using Harness.Results;
using Harness.Telemetry.Prometheus;

namespace Harness.Running;

/// <summary>Who one side of a duet pair is: the job, the pair, the side, its cores and device, and the window length.</summary>
public sealed record DuetSideSettings(string Job, int Pair, string Side, IReadOnlyList<int> Cpus, string? Device, double WindowS,
    TimeSpan MaxDuration);

/// <summary>How the two sides of a pair agree on the instant their measured windows start.</summary>
public interface IDuetRendezvous
{
    /// <summary>This side is warm at <paramref name="readyUtc"/>: the agreed start, or null when the partner did not come in
    /// time.</summary>
    DateTime? Agree(DateTime readyUtc, CancellationToken cancellationToken);
}

/// <summary>
/// The rendezvous through a folder both processes see: each side writes the instant it was ready, waits
/// for the other's, and both start at the later of the two plus a margin (the same instant on both
/// sides, computed from the same two numbers, so no third party is needed).
/// </summary>
public sealed class FileRendezvous(string folder, string side, string partner, TimeSpan timeout) : IDuetRendezvous
{
    /// <summary>Time between the later side being ready and the first window, for the earlier side to wake.</summary>
    public static readonly TimeSpan Margin = TimeSpan.FromMilliseconds(500);

    public DateTime? Agree(DateTime readyUtc, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(folder);
        AtomicFile.WriteAllText(Path.Combine(folder, side + ".ready"), readyUtc.Ticks.ToString(CultureInfo.InvariantCulture));
        string other = Path.Combine(folder, partner + ".ready");
        DateTime until = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < until && !cancellationToken.IsCancellationRequested)
        {
            if (File.Exists(other) && long.TryParse(File.ReadAllText(other).Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture,
                out long ticks))
            {
                return Start(readyUtc, new DateTime(ticks, DateTimeKind.Utc));
            }

            Thread.Sleep(10);
        }

        return null;
    }

    /// <summary>The agreed start: the later ready instant plus <see cref="Margin"/>.</summary>
    public static DateTime Start(DateTime a, DateTime b) => (a > b ? a : b) + Margin;
}

/// <summary>
/// Counts one duet side's ok requests per wall-clock window. When the measured phase is about to open it
/// meets its partner (<see cref="IDuetRendezvous"/>) and waits for the agreed instant, so that both
/// sides open their windows together; then every measured request lands in the window of its end.
/// Thread-safe and allocation-free per request (two interlocked adds).
/// </summary>
public sealed class DuetRecorder : IRunObserver
{
    private readonly DuetSideSettings _settings;
    private readonly IClock _clock;
    private readonly IDuetRendezvous _rendezvous;
    private readonly Action<TimeSpan> _sleep;
    private readonly CancellationToken _cancellation;
    private readonly long[] _counts;
    private readonly long[] _latencyTicks;
    private readonly long _windowTicks;
    private long _startTicks = long.MaxValue;
    private long _endTicks;
    private DateTime _startUtc;
    private bool _synchronized;

    public DuetRecorder(DuetSideSettings settings, IClock clock, IDuetRendezvous rendezvous, Action<TimeSpan>? sleep = null,
        CancellationToken cancellationToken = default)
    {
        if (settings.WindowS <= 0)
        {
            throw HarnessException.BadInput("--window must be above 0 s.");
        }

        _settings = settings;
        _clock = clock;
        _rendezvous = rendezvous;
        _sleep = sleep ?? Thread.Sleep;
        _cancellation = cancellationToken;
        _windowTicks = Math.Max(1, (long)(settings.WindowS * clock.Frequency));
        int windows = (int)Math.Clamp(Math.Ceiling(settings.MaxDuration.TotalSeconds / settings.WindowS) + 2, 1, 1_000_000);
        _counts = new long[windows];
        _latencyTicks = new long[windows];
    }

    public void PhaseStarted(string phase, long timestamp)
    {
        if (phase == RunPhases.Measuring)
        {
            ClockPair ready = _clock.ReadBoth();
            DateTime? agreed = _rendezvous.Agree(ready.Utc, _cancellation);
            _synchronized = agreed is not null;
            DateTime start = agreed ?? ready.Utc;
            TimeSpan wait = start - _clock.UtcNow;
            if (wait > TimeSpan.Zero && !_cancellation.IsCancellationRequested)
            {
                _sleep(wait);
            }

            _startUtc = start;
            Volatile.Write(ref _startTicks, ready.Timestamp + (long)((start - ready.Utc).TotalSeconds * _clock.Frequency));
        }
        else if (phase == RunPhases.Done)
        {
            _endTicks = timestamp;
        }
    }

    public void RequestEnded(RequestOutcome outcome, long latencyTicks, int inputUnits, int outputUnits)
    {
        if (outcome != RequestOutcome.Ok)
        {
            return;
        }

        long since = _clock.Timestamp - Volatile.Read(ref _startTicks);
        if (since < 0)
        {
            return;
        }

        long k = since / _windowTicks;
        if (k < _counts.Length)
        {
            Interlocked.Increment(ref _counts[k]);
            Interlocked.Add(ref _latencyTicks[k], latencyTicks);
        }
    }

    /// <summary>The full windows of the measured phase (a window cut by its end is left out).</summary>
    public DuetWindows Windows()
    {
        int full = _startTicks == long.MaxValue || _endTicks <= _startTicks ? 0 : (int)Math.Min(_counts.Length,
            (_endTicks - _startTicks) / _windowTicks);
        return new DuetWindows
        {
            Job = _settings.Job,
            Pair = _settings.Pair,
            Side = _settings.Side,
            Cpus = [.. _settings.Cpus],
            Device = _settings.Device,
            StartUtc = _startUtc,
            WindowS = _settings.WindowS,
            Synchronized = _synchronized,
            Completions = _counts[..full],
            LatencySumMs = _latencyTicks[..full].Select(t => _clock.ToMilliseconds(t)).ToArray(),
        };
    }
}

/// <summary>A run measured as one side of a duet pair: the run as it would be, with its windows in the result's <c>duet</c>
/// section.</summary>
public sealed class DuetMeasurement(IMeasurement inner, DuetRecorder recorder) : IMeasurement
{
    public RunLabels Labels => inner.Labels;

    public BackendSpec? Device => inner.Device;

    public IReadOnlyDictionary<string, object?> Config => inner.Config;

    public string DefaultFileName(string stamp) => inner.DefaultFileName(stamp);

    // The recorder goes first: its wait for the agreed instant must come before the samplers bracket the window.
    public MeasurementResult Measure(IRunObserver? observer, HarnessMetrics? metrics, EngineProgress? progress,
        CancellationToken cancellationToken) =>
        inner.Measure(observer is null ? recorder : new CompositeRunObserver([recorder, observer]), metrics, progress, cancellationToken);

    public void Complete(ResultDocument document)
    {
        inner.Complete(document);
        document.Duet = recorder.Windows();
    }

    public void Dispose() => inner.Dispose();
}
