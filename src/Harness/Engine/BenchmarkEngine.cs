using System.Globalization;
using Harness.Engine.Scenarios;
using Harness.Measurement;

namespace Harness.Engine;

/// <summary>
/// Runs a workload under a scenario: prepare, warm up (discarded), measure under the stop rules,
/// and hand back every request's outcome. The engine owns the clock; workloads never time themselves.
/// </summary>
public sealed class BenchmarkEngine
{
    private readonly IClock _clock;
    private readonly IRunObserver? _observer;

    /// <param name="observer">Told of phase changes and measured requests (telemetry, live metrics); may be null.</param>
    public BenchmarkEngine(IClock? clock = null, IRunObserver? observer = null)
    {
        _clock = clock ?? StopwatchClock.Instance;
        _observer = observer;
    }

    /// <summary>
    /// Runs the whole benchmark. Cancellation ends the measured phase early; the result is still
    /// returned, with <see cref="StopReason.Cancelled"/>.
    /// </summary>
    public EngineResult Run(IWorkload workload, RunSettings settings, EngineProgress? progress = null, CancellationToken cancellationToken = default)
    {
        // A workload that watches the phases itself (a remote server's metrics, the client's own CPU) hears them with the others.
        IRunObserver? observer = (_observer, workload as IRunObserver) switch
        {
            (null, var w) => w,
            (var o, null) => o,
            (var o, var w) => new CompositeRunObserver([o!, w!]),
        };
        return new BenchmarkEngine(_clock, observer).RunObserved(workload, settings, progress, cancellationToken);
    }

    private EngineResult RunObserved(IWorkload workload, RunSettings settings, EngineProgress? progress, CancellationToken cancellationToken)
    {
        progress ??= new EngineProgress();
        IScenario scenario = settings.Scenario;
        progress.Reset(RunPhases.Preparing, _clock.Timestamp);
        _observer?.PhaseStarted(RunPhases.Preparing, _clock.Timestamp);
        WorkloadDescription description = workload.Prepare(new WorkloadContext(settings.Batch, scenario.Workers, settings.Seed, cancellationToken) { RequestTimeout = settings.RequestTimeout });

        long warmupRequests = 0;
        if (!cancellationToken.IsCancellationRequested && (settings.Warmup.Requests > 0 || settings.Warmup.Duration > TimeSpan.Zero))
        {
            var warm = new Phase(this, workload, description, settings, record: false, cancellationToken);
            progress.Reset(RunPhases.WarmUp, warm.Start);
            _observer?.PhaseStarted(RunPhases.WarmUp, warm.Start);
            warm.Progress = progress;
            scenario.Run(warm);
            warmupRequests = warm.Issued;

            // A closed loop's rate is known only now: say before measuring what the tail rule will take at it.
            double warmSeconds = (double)(_clock.Timestamp - warm.Start) / _clock.Frequency;
            if (scenario is ClosedLoopScenario && warmupRequests > 0 && warmSeconds > 0)
            {
                progress.Forecast = TailRule.Forecast(settings, warmupRequests / warmSeconds, description.Unit);
            }
        }

        // Observers hear of the measured phase before its window opens and of its end after the last
        // request, so samplers that read on both calls bracket the window.
        _observer?.PhaseStarted(RunPhases.Measuring, _clock.Timestamp);
        var measured = new Phase(this, workload, description, settings, record: true, cancellationToken);
        ClockPair opened = _clock.ReadBoth();
        progress.Reset(RunPhases.Measuring, measured.Start);
        progress.Minimums(_clock.FromTimeSpan(settings.Stop.MinDuration), settings.Stop.MinRequests);
        measured.Progress = progress;
        ClockPair closed;
        try
        {
            scenario.Run(measured);
        }
        finally
        {
            // Both clocks read together at both ends (the start: right after Phase stamps Start), so the
            // anomaly check compares like with like; nothing runs in between, not even the observers
            // (a telemetry read can take milliseconds).
            closed = _clock.ReadBoth();
            _observer?.PhaseStarted(RunPhases.Done, closed.Timestamp);
        }

        progress.Reset(RunPhases.Done, _clock.Timestamp);

        long windowEnd = measured.Start;
        foreach (WorkerRecorder r in measured.Recorders)
        {
            windowEnd = Math.Max(windowEnd, r.LastEndTimestamp);
        }

        // An open loop whose last request ended before the stop rules were met offered load until
        // the moment they closed the phase (its next arrival): the window runs to then.
        bool rulesHeld = measured.StopReason is StopReason.Completed or StopReason.TailRule;
        if (rulesHeld && measured.ClosedAt > windowEnd && windowEnd > measured.Start)
        {
            windowEnd = Math.Min(measured.ClosedAt, closed.Timestamp);
        }

        if (windowEnd == measured.Start)
        {
            windowEnd = _clock.Timestamp;
        }

        var errors = new ErrorLog();
        var outcomes = default(RequestCounts);
        long input = 0, output = 0, sloMet = 0, sloMetOutput = 0;
        foreach (WorkerRecorder r in measured.Recorders)
        {
            sloMet += r.SloMet;
            sloMetOutput += r.SloMetOutputUnits;
            errors.AddAll(r.Errors);
            outcomes += r.Outcomes;

            input += r.InputUnits;
            output += r.OutputUnits;
        }

        long f = _clock.Frequency;
        StopReason stopReason = cancellationToken.IsCancellationRequested ? StopReason.Cancelled : measured.StopReason;
        var result = new EngineResult
        {
            Workload = description,
            Settings = settings,
            StartedUtc = opened.Utc,
            WindowStart = measured.Start,
            WindowEnd = windowEnd,
            Frequency = f,
            WallWindow = closed.Utc - opened.Utc,
            MonotonicWindow = closed.Timestamp - opened.Timestamp,
            ClockUncertaintyTicks = opened.UncertaintyTicks + closed.UncertaintyTicks,
            StopReason = stopReason,
            StopDetail = measured.DescribeStop(stopReason),
            WarmupRequests = warmupRequests,
            Latency = SampleRecorder.Merge(f, measured.Recorders.Select(r => r.Latency)),
            TimeToFirstToken = SampleRecorder.Merge(f, measured.Recorders.Select(r => r.TimeToFirstToken)),
            TimePerOutputToken = SampleRecorder.Merge(f, measured.Recorders.Select(r => r.TimePerOutputToken)),
            InterTokenLatency = SampleRecorder.Merge(f, measured.Recorders.Select(r => r.InterTokenLatency)),
            Outcomes = outcomes,
            InputUnits = input,
            OutputUnits = output,
            Errors = errors,
            SloMetRequests = sloMet,
            SloMetOutputUnits = sloMetOutput,
        };
        if (workload is IDerivedMetrics derived)
        {
            result.Derived = derived.Derive(result);
            result.DerivedDistributions = derived.DeriveDistributions(result);
            result.WorkloadConditions = derived.Conditions(result);
        }

        return result;
    }

    /// <summary>One phase (warm-up or measured): stop rules, per-worker state, timing and recording.</summary>
    private sealed class Phase : IPhaseDriver
    {
        private readonly IClock _clock;
        private readonly IRunObserver? _observer;
        private readonly IWorkload _workload;
        private readonly WorkloadDescription _description;
        private readonly RequestContext[] _contexts;
        private readonly bool _record;
        private readonly long _minTicks;
        private readonly long _maxTicks;
        private readonly long _minRequests;
        private readonly long _maxRequests;
        private readonly long _timeoutTicks;
        private readonly SloLimits _slo;
        private readonly TailState? _tail;
        private long _issued;
        private long _closedAt;
        private int _stopReason = (int)StopReason.Completed;
        private volatile bool _tailShortAtMax;
        private volatile bool _over;

        public Phase(BenchmarkEngine engine, IWorkload workload, WorkloadDescription description, RunSettings settings, bool record, CancellationToken token)
        {
            _clock = engine._clock;
            _observer = record ? engine._observer : null;
            _workload = workload;
            _description = description;
            _record = record;
            CancellationToken = token;
            int workers = settings.Scenario.Workers;
            Recorders = new WorkerRecorder[workers];
            _contexts = new RequestContext[workers];
            for (int w = 0; w < workers; w++)
            {
                Recorders[w] = new WorkerRecorder(_clock.Frequency);
                _contexts[w] = new RequestContext(_clock, w, Recorders[w]);
            }

            if (record)
            {
                _minTicks = _clock.FromTimeSpan(settings.Stop.MinDuration);
                _minRequests = settings.Stop.MinRequests;
                _maxTicks = _clock.FromTimeSpan(settings.Stop.MaxDuration);
                _maxRequests = long.MaxValue;
                _tail = settings.Stop.UntilTail && TailRule.Targets(settings, description.Unit) is { Count: > 0 } targets
                    ? new TailState(targets, workers, _clock.Frequency)
                    : null;
            }
            else
            {
                // Warm-up: by count, or by duration; the maximum duration still bounds it.
                _minTicks = settings.Warmup.Duration is { } d ? _clock.FromTimeSpan(d) : 0;
                _minRequests = settings.Warmup.Requests ?? 0;
                _maxRequests = settings.Warmup.Requests ?? long.MaxValue;
                _maxTicks = _clock.FromTimeSpan(settings.Stop.MaxDuration);
            }

            _timeoutTicks = settings.RequestTimeout is { } t ? _clock.FromTimeSpan(t) : long.MaxValue;
            _slo = new SloLimits(settings.Slos, _clock.Frequency);
            Start = _clock.Timestamp;
        }

        public WorkerRecorder[] Recorders { get; }

        public EngineProgress? Progress { get; set; }

        public long Start { get; }

        public long Issued => Interlocked.Read(ref _issued);

        public StopReason StopReason => (StopReason)_stopReason;

        /// <summary>When the stop rules closed the phase (the first <see cref="TryBeginRequest"/> refused); 0 while open.</summary>
        public long ClosedAt => Interlocked.Read(ref _closedAt);

        public long Now => _clock.Timestamp;

        public long Frequency => _clock.Frequency;

        public CancellationToken CancellationToken { get; }

        public void WaitUntil(long timestamp)
        {
            // Sleep while far away (waking early on Ctrl-C), then yield and spin for the last stretch:
            // a plain Sleep overshoots by up to a scheduler tick, which would skew open-loop arrivals.
            long coarse = _clock.Frequency / 500; // 2 ms
            while (!CancellationToken.IsCancellationRequested)
            {
                long remaining = timestamp - _clock.Timestamp;
                if (remaining <= 0)
                {
                    return;
                }

                if (remaining > coarse)
                {
                    int ms = (int)((remaining - coarse) * 1000 / _clock.Frequency) + 1;
                    CancellationToken.WaitHandle.WaitOne(ms);
                }
                else if (remaining > coarse / 10)
                {
                    Thread.Yield();
                }
                else
                {
                    Thread.SpinWait(16);
                }
            }
        }

        public void EndPhase(StopReason reason) => End(reason);

        public bool TryBeginRequest()
        {
            if (_over)
            {
                return false;
            }

            if (CancellationToken.IsCancellationRequested)
            {
                End(StopReason.Cancelled);
                return false;
            }

            long elapsed = _clock.Timestamp - Start;
            long issued = Interlocked.Read(ref _issued);
            if (elapsed >= _maxTicks)
            {
                bool minimums = elapsed >= _minTicks && issued >= _minRequests;
                bool held = minimums && TailHeld(issued, force: true);
                if (minimums && !held)
                {
                    _tailShortAtMax = true; // only ever set: another worker's later look must not hide it
                }
                else if (held)
                {
                    Interlocked.CompareExchange(ref _closedAt, Start + elapsed, 0);
                }

                End(held ? Completion : StopReason.MaxDuration);
                return false;
            }

            // The tail rule is looked at only once the other rules are met, and then only when enough
            // requests were issued since its last shortfall could have closed: a compare per request.
            if ((elapsed >= _minTicks && issued >= _minRequests && TailHeld(issued, force: false)) || issued >= _maxRequests)
            {
                Interlocked.CompareExchange(ref _closedAt, Start + elapsed, 0);
                End(Completion);
                return false;
            }

            // Several workers may pass the check together; the count rule is a minimum, so overshooting
            // by at most Workers-1 requests is harmless and keeps this path lock-free.
            Interlocked.Increment(ref _issued);
            return true;
        }

        public void Execute(int worker, long scheduledTimestamp, int item = -1)
        {
            RequestContext ctx = _contexts[worker];
            WorkerRecorder rec = Recorders[worker];
            long requestIndex = Interlocked.Read(ref _issued) - 1;
            ctx.Begin(requestIndex, scheduledTimestamp, _clock.Timestamp, _description, CancellationToken, item);
            RequestOutcome outcome;
            string? error = null;
            try
            {
                _workload.Execute(ctx);
                outcome = RequestOutcome.Ok;
            }
            catch (OperationCanceledException) when (CancellationToken.IsCancellationRequested)
            {
                outcome = RequestOutcome.Cancelled;
            }
            catch (TimeoutException e)
            {
                // A request the workload cut at the timeout (a remote server that stalled): a timeout with its reason.
                outcome = RequestOutcome.Timeout;
                error = $"timeout: {e.Message}";
            }
            catch (Exception e)
            {
                outcome = RequestOutcome.Error;
                error = $"{e.GetType().Name}: {e.Message}";
            }

            long end = _clock.Timestamp;
            long latency = end - scheduledTimestamp;
            if (outcome == RequestOutcome.Ok && latency > _timeoutTicks)
            {
                outcome = RequestOutcome.Timeout;
            }

            Progress?.Increment();
            if (!_record)
            {
                return;
            }

            rec.Count(outcome);
            rec.LastEndTimestamp = Math.Max(rec.LastEndTimestamp, end);
            if (error is not null)
            {
                rec.Errors.Add(error);
            }

            if (outcome != RequestOutcome.Ok)
            {
                _observer?.RequestEnded(outcome, latency, 0, 0);
                return;
            }

            _observer?.RequestEnded(outcome, latency, ctx.InputUnits, ctx.OutputUnits);
            rec.Latency.Record(latency);
            rec.InputUnits += ctx.InputUnits;
            rec.OutputUnits += ctx.OutputUnits;
            long ttft = -1, tpot = -1;
            if (ctx.TokenCount > 0)
            {
                ttft = ctx.FirstTokenTimestamp - scheduledTimestamp;
                rec.TimeToFirstToken.Record(ttft);
                if (ctx.TokenCount > 1)
                {
                    tpot = (end - ctx.FirstTokenTimestamp) / (ctx.TokenCount - 1);
                    rec.TimePerOutputToken.Record(tpot);
                }
            }

            _tail?.CountMisses(worker, latency, ttft, tpot);
            if (_slo.Any && _slo.Met(latency, ttft, tpot))
            {
                rec.SloMet++;
                rec.SloMetOutputUnits += ctx.OutputUnits;
            }
        }

        /// <summary>Per-request limits in ticks from the SLOs; the tightest wins when a metric has several.</summary>
        private readonly struct SloLimits
        {
            private readonly long _latency;
            private readonly long _ttft;
            private readonly long _tpot;

            public SloLimits(IReadOnlyList<ServiceLevelObjective> slos, long frequency)
            {
                _latency = _ttft = _tpot = long.MaxValue;
                foreach (ServiceLevelObjective s in slos)
                {
                    long ticks = (long)(s.LimitMs / 1000 * frequency);
                    switch (s.Metric)
                    {
                        case "ttft": _ttft = Math.Min(_ttft, ticks); break;
                        case "tpot": _tpot = Math.Min(_tpot, ticks); break;
                        default: _latency = Math.Min(_latency, ticks); break;
                    }
                }

                Any = slos.Count > 0;
            }

            public bool Any { get; }

            /// <summary>
            /// A request without tokens cannot show it met a TTFT limit; a single-token request has no
            /// TPOT, so a TPOT limit does not apply to it. Negative values mean "not measured".
            /// </summary>
            public bool Met(long latency, long ttft, long tpot) =>
                latency <= _latency
                && (_ttft == long.MaxValue || (ttft >= 0 && ttft <= _ttft))
                && (tpot < 0 || tpot <= _tpot);
        }

        /// <summary>
        /// How a phase whose rules all held ends: <see cref="StopReason.TailRule"/> when the tail rule kept it past the others.
        /// </summary>
        private StopReason Completion => _tail is { Waited: true } ? StopReason.TailRule : StopReason.Completed;

        private bool TailHeld(long issued, bool force) => _tail is null || _tail.Held(Recorders, issued, force, Progress);

        /// <summary>Why the phase stopped, in a sentence for the result; called once, after the phase.</summary>
        public string DescribeStop(StopReason reason)
        {
            var c = CultureInfo.InvariantCulture;
            double Seconds(long ticks) => (double)ticks / _clock.Frequency;
            string minimum = string.Create(c, $"the minimum duration ({Seconds(_minTicks):0.###} s) and {_minRequests} requests");
            _tail?.Tally(Recorders);
            return reason switch
            {
                StopReason.Completed when _tail is null => $"{minimum} reached",
                StopReason.Completed => $"{minimum} reached, the tail rule already held ({_tail.Summary()})",
                StopReason.TailRule => $"tail rule: {_tail!.Summary()}; measuring went on "
                    + string.Create(c, $"{Seconds(_closedAt - Start - _minTicks):0.#} s past the minimum duration"),
                StopReason.MaxDuration when _tailShortAtMax =>
                    string.Create(c, $"max duration ({Seconds(_maxTicks):0.###} s) reached before the tail rule held: {_tail!.Summary()}"),
                StopReason.MaxDuration => string.Create(c, $"max duration ({Seconds(_maxTicks):0.###} s) reached before {minimum} were")
                    + (_tail is { HeldAtTally: false } ? $", and before the tail rule held: {_tail.Summary()}" : ""),
                StopReason.Overloaded =>
                    "overloaded: the backlog fell too far behind the arrival schedule (the offered rate exceeds capacity)",
                _ => "cancelled before the stop rules were met",
            };
        }

        private void End(StopReason reason)
        {
            if (!_over)
            {
                Interlocked.CompareExchange(ref _stopReason, (int)reason, (int)StopReason.Completed);
                _over = true;
            }
        }
    }
}
