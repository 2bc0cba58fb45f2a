using System.Globalization;
using Harness.Measurement;

namespace Harness.Engine;

/// <summary>
/// The measured phase's side of the tail rule (<see cref="TailRule"/>): per worker, the samples over
/// each target's limit (counted by the worker that ended the request, without allocation), and, when
/// asked, the totals over every worker against each target's bound. Asking is the slow path: it runs
/// under a lock, and the phase asks again only after as many more requests as the last shortfall.
/// </summary>
internal sealed class TailState
{
    private const int Latency = 0, Ttft = 1, Tpot = 2;

    private readonly TailTarget[] _targets;
    private readonly int[] _kinds;
    private readonly long[] _limits;
    private readonly long[][] _misses;
    private readonly bool _limited;
    private readonly long[] _have, _need, _missesTotal, _needFor, _needForMisses;
    private readonly bool[] _unreachable;
    private readonly Lock _gate = new();
    private long _checkAt;
    private long _nextLook;
    private int _waitingFor = -1;

    public TailState(IReadOnlyList<TailTarget> targets, int workers, long frequency)
    {
        _targets = [.. targets];
        int n = _targets.Length;
        _kinds = [.. _targets.Select(t => t.Metric switch { "ttft" => Ttft, "tpot" => Tpot, _ => Latency })];
        _limits = [.. _targets.Select(t => t.LimitMs is { } ms ? (long)(ms / 1000 * frequency) : long.MaxValue)];
        _limited = _limits.Any(l => l != long.MaxValue);
        _misses = [.. Enumerable.Range(0, workers).Select(_ => new long[n])];
        (_have, _need, _missesTotal) = (new long[n], new long[n], new long[n]);
        (_needFor, _needForMisses, _unreachable) = (new long[n], new long[n], new bool[n]);
        for (int i = 0; i < n; i++)
        {
            _needFor[i] = _targets[i].MinimumSamples;
        }
    }

    /// <summary>Whether the tail rule ever kept the phase going (a check found it short).</summary>
    public bool Waited { get; private set; }

    /// <summary>Whether every target held at the last <see cref="Tally"/>.</summary>
    public bool HeldAtTally { get; private set; }

    /// <summary>Counts an ok request's values (ticks; negative: not measured) over each target's limit, on its own worker's row.</summary>
    public void CountMisses(int worker, long latency, long ttft, long tpot)
    {
        if (!_limited)
        {
            return;
        }

        long[] misses = _misses[worker];
        for (int i = 0; i < _kinds.Length; i++)
        {
            long value = _kinds[i] switch { Ttft => ttft, Tpot => tpot, _ => latency };
            if (value > _limits[i])
            {
                misses[i]++;
            }
        }
    }

    /// <summary>
    /// Whether every target has its samples. Unless <paramref name="force"/>d, answers false without
    /// counting until <paramref name="issued"/> reaches the last check's count plus its shortfall.
    /// </summary>
    public bool Held(WorkerRecorder[] recorders, long issued, bool force, EngineProgress? progress)
    {
        if (!force && issued < Interlocked.Read(ref _checkAt))
        {
            return false;
        }

        lock (_gate)
        {
            Tally(recorders);
            if (HeldAtTally)
            {
                progress?.WaitingForTail(null, 0, 0);
                return true;
            }

            Waited = true;
            int i = _waitingFor;
            progress?.WaitingForTail(_targets[i], _have[i], _need[i]);
            Interlocked.Exchange(ref _checkAt, issued + _nextLook);
            return false;
        }
    }

    /// <summary>
    /// Counts every target's samples and misses over the workers and sets its bound; the largest shortfall is waited for.
    /// </summary>
    public void Tally(WorkerRecorder[] recorders)
    {
        lock (_gate)
        {
            long gap = 0, look = 1;
            int waitingFor = -1;
            for (int i = 0; i < _targets.Length; i++)
            {
                long have = 0, misses = 0;
                for (int w = 0; w < recorders.Length; w++)
                {
                    WorkerRecorder r = recorders[w];
                    long timeouts = r.Outcomes.Timeout;
                    SampleRecorder samples = _kinds[i] switch { Ttft => r.TimeToFirstToken, Tpot => r.TimePerOutputToken, _ => r.Latency };
                    have += samples.Count + timeouts;
                    misses += timeouts + _misses[w][i];
                }

                long need = NeedFor(i, misses);
                double p = _targets[i].Percentile;

                // Past the no-miss bound with more than the percentile's share missed: the percentile fails its
                // limit at this count, and more samples alike would not change that; the rule has judged it.
                _unreachable[i] = have >= _targets[i].MinimumSamples && have < need && TailRule.Unreachable(p, have, misses);
                (_have[i], _need[i], _missesTotal[i]) = (have, _unreachable[i] ? have : need, misses);
                if (_need[i] - have > gap)
                {
                    (gap, waitingFor) = (_need[i] - have, i);
                }

                // The fewest further samples before this target could hold: none can before its no-miss bound;
                // past it, a target with misses may be judged at any sample, so it is looked at every 1/16 more.
                long minimum = _targets[i].MinimumSamples;
                if (have < _need[i])
                {
                    look = Math.Max(look, have < minimum ? minimum - have : Math.Min(_need[i] - have, Math.Max(1, have / 16)));
                }
            }

            _nextLook = look;
            HeldAtTally = waitingFor < 0;
            if (waitingFor >= 0)
            {
                _waitingFor = waitingFor;
            }
        }
    }

    /// <summary>
    /// The tail rule's counts for the result: the target last waited for (or, when it never waited, each target),
    /// e.g. "459 ttft samples for p99 (ttft SLO), 460 measured" or "312 of 459 ...", or why a percentile cannot be met at any count.
    /// </summary>
    public string Summary()
    {
        lock (_gate)
        {
            IEnumerable<int> shown = Waited && _waitingFor >= 0 ? [_waitingFor] : Enumerable.Range(0, _targets.Length);
            return string.Join("; ", shown.Select(Describe));
        }
    }

    private string Describe(int i)
    {
        TailTarget t = _targets[i];
        var c = CultureInfo.InvariantCulture;
        if (_unreachable[i])
        {
            string over = t.LimitMs is { } ms ? string.Create(c, $"over {ms:0.###} ms or timed out") : "timed out";
            return string.Create(c,
                $"{t.Name} of {t.Metric} cannot be met at any count ({t.Source}): {_missesTotal[i]} of {_have[i]} samples {over}");
        }

        return _have[i] >= _need[i]
            ? string.Create(c, $"{t.Describe(_need[i])}, {_have[i]} measured")
            : string.Create(c, $"{_have[i]} of {t.Describe(_need[i])}");
    }

    /// <summary>The bound for <paramref name="misses"/> misses; the last one is kept, as misses change rarely.</summary>
    private long NeedFor(int i, long misses)
    {
        if (misses != _needForMisses[i])
        {
            _needFor[i] = TailRule.Needed(_targets[i].Percentile, misses);
            _needForMisses[i] = misses;
        }

        return _needFor[i];
    }
}
