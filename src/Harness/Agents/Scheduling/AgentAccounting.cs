using Harness.Agents.Tools;
using Harness.Measurement;

namespace Harness.Agents.Scheduling;

/// <summary>
/// Everything an agent run measures, inside its window (warm-up excluded): device busy time, LLM
/// steps, tool calls with their queueing, turns and jobs. Fed by the coordinator with the timestamps
/// its host reports, so the same code accounts for real threads and for a simulated clock. Intervals
/// are clipped to the window; events are counted when they end inside it. Single-threaded.
/// </summary>
public sealed class AgentAccounting
{
    /// <summary>Tool-call samples kept per tool for projections (first ones of the window).</summary>
    public const int MaxServiceSamples = 20_000;

    public AgentAccounting(long frequency, long windowStart, int maxBatch, int workers)
    {
        Frequency = frequency;
        WindowStart = windowStart;
        WindowEnd = long.MaxValue;
        MaxBatch = maxBatch;
        Workers = workers;
        TimeToFirstToken = new SampleRecorder(frequency);
        TimePerOutputToken = new SampleRecorder(frequency);
        StepLatency = new SampleRecorder(frequency);
        LlmQueue = new SampleRecorder(frequency);
        TurnLatency = new SampleRecorder(frequency);
        JobCompletion = new SampleRecorder(frequency);
    }

    public long Frequency { get; }

    public long WindowStart { get; }

    /// <summary>Set by <see cref="Close"/>; events after it are not counted.</summary>
    public long WindowEnd { get; private set; }

    public int MaxBatch { get; }

    public int Workers { get; }

    public bool Closed { get; private set; }

    // LLM device.

    /// <summary>Ticks in which the device ran any iteration.</summary>
    public long DeviceActiveTicks { get; private set; }

    /// <summary>Ticks weighted by the batch slots in use: each iteration by its sequences (joining and running) / max batch.</summary>
    public double DeviceSlotTicks { get; private set; }

    /// <summary>Iterations in which sequences joined (their prefill).</summary>
    public long PrefillIterations { get; private set; }

    /// <summary>Iterations in which sequences decoded.</summary>
    public long DecodeIterations { get; private set; }

    /// <summary>Sum of decoding sequences over iterations, for the mean decode batch.</summary>
    public long DecodeSequences { get; private set; }

    public long PrefillTokens { get; private set; }

    /// <summary>Tokens produced: one per sequence per iteration (the prefill's first token included).</summary>
    public long OutputTokens { get; private set; }

    public SampleRecorder TimeToFirstToken { get; }

    public SampleRecorder TimePerOutputToken { get; }

    /// <summary>LLM step latency: submit to last token.</summary>
    public SampleRecorder StepLatency { get; }

    /// <summary>Submit to admission into a prefill.</summary>
    public SampleRecorder LlmQueue { get; }

    public long Steps { get; private set; }

    // Tools.

    public SortedDictionary<string, ToolStats> Tools { get; } = new(StringComparer.Ordinal);

    /// <summary>Ticks in which tool workers ran calls, summed over workers.</summary>
    public long WorkerBusyTicks { get; private set; }

    /// <summary>CPU time of tool calls measured on their worker threads (subprocesses not included).</summary>
    public TimeSpan ToolThreadCpu { get; private set; }

    // Turns and jobs.

    public SampleRecorder TurnLatency { get; }

    public long TurnsOk { get; private set; }

    public long TurnsFailed { get; private set; }

    /// <summary>Turns that ended before the window (warm-up).</summary>
    public long WarmupTurns { get; private set; }

    /// <summary>Sum over turns of submit-to-last-token time.</summary>
    public long LlmPhaseTicks { get; private set; }

    /// <summary>Sum over turns of first-tool-enqueued to last-tool-done time (queueing included).</summary>
    public long ToolPhaseTicks { get; private set; }

    /// <summary>Jobs that ran from their first turn to their last inside the run, and ended in the window.</summary>
    public SampleRecorder JobCompletion { get; }

    public long JobsCompleted { get; private set; }

    public long JobsFailed { get; private set; }

    /// <summary>Jobs that ended in the window but began before the run (staggered start): counted, not timed.</summary>
    public long PartialJobsCompleted { get; private set; }

    public ErrorLog Errors { get; } = new();

    /// <summary>Where the events counted in the window are also reported as they happen (live metrics); none by default.</summary>
    public IAgentObserver? Live { get; init; }

    public double WindowTicks => Closed ? WindowEnd - WindowStart : double.NaN;

    /// <summary>An iteration of the device: <paramref name="joining"/> sequences prefilled (their first token), <paramref name="running"/> decoded one token.</summary>
    public void Device(int joining, int running, int prefillTokens, long start, long end)
    {
        long overlap = Overlap(start, end);
        DeviceActiveTicks += overlap;
        DeviceSlotTicks += overlap * Fill(joining + running);
        bool inWindow = InWindow(end);
        Live?.DeviceTime(overlap * Fill(joining + running), overlap, inWindow ? joining + running : 0);
        if (!inWindow)
        {
            return;
        }

        OutputTokens += joining + running;
        if (joining > 0)
        {
            PrefillIterations++;
            PrefillTokens += prefillTokens;
        }

        if (running > 0)
        {
            DecodeIterations++;
            DecodeSequences += running;
        }
    }

    /// <summary>Device time of an iteration still running when the window closes.</summary>
    public void DeviceInFlight(int sequences, long start, long now)
    {
        long overlap = Overlap(start, now);
        DeviceActiveTicks += overlap;
        DeviceSlotTicks += overlap * Fill(sequences);
    }

    public void Step(AgentStep s, long done)
    {
        if (!InWindow(done))
        {
            return;
        }

        Steps++;
        TimeToFirstToken.Record(s.FirstTokenTimestamp - s.SubmitTimestamp);
        LlmQueue.Record(s.AdmitTimestamp - s.SubmitTimestamp);
        StepLatency.Record(done - s.SubmitTimestamp);
        if (s.DecodeTokens > 1)
        {
            TimePerOutputToken.Record((done - s.FirstTokenTimestamp) / (s.DecodeTokens - 1));
        }
    }

    /// <summary>LLM steps whose request failed in the window (a remote server's error, a reset, the timeout).</summary>
    public long StepsFailed { get; private set; }

    public void StepFailed(string reason, long end)
    {
        if (!InWindow(end))
        {
            return;
        }

        StepsFailed++;
        Errors.Add($"llm: {(reason.Length > 300 ? reason[..300] + "..." : reason)}");
    }

    public void Tool(ToolTicket ticket, ToolResult result, int outputTokens)
    {
        WorkerBusyTicks += Overlap(ticket.DispatchedTimestamp, result.EndTimestamp);
        if (!InWindow(result.EndTimestamp))
        {
            return;
        }

        ToolThreadCpu += result.CpuTime;
        if (!Tools.TryGetValue(ticket.Call.Tool, out ToolStats? stats))
        {
            stats = new ToolStats(ticket.Call.Tool, Frequency);
            Tools[ticket.Call.Tool] = stats;
        }

        stats.Add(ticket, result, outputTokens);
        Live?.ToolCallEnded(ticket.Call.Tool, result.Outcome, result.StartTimestamp - ticket.EnqueuedTimestamp, result.EndTimestamp - result.StartTimestamp);
        if (!result.Ok)
        {
            Errors.Add($"{ticket.Call.Tool}: {result.Outcome.ToString().ToLowerInvariant()}: {result.Reason}");
        }
    }

    /// <summary>Worker time of a call still running when the window closes.</summary>
    public void WorkerInFlight(long dispatched, long now) => WorkerBusyTicks += Overlap(dispatched, now);

    public void Turn(long submit, long llmDone, long toolsDone, bool failed)
    {
        if (toolsDone < WindowStart)
        {
            WarmupTurns++;
            return;
        }

        if (toolsDone > WindowEnd)
        {
            return;
        }

        Live?.TurnEnded(!failed, toolsDone - submit);
        if (failed)
        {
            TurnsFailed++;
            return;
        }

        TurnsOk++;
        TurnLatency.Record(toolsDone - submit);
        LlmPhaseTicks += llmDone - submit;
        ToolPhaseTicks += toolsDone - llmDone;
    }

    public void Job(long start, long end, bool fresh, bool failed)
    {
        if (!InWindow(end))
        {
            return;
        }

        Live?.JobEnded(!failed);
        if (failed)
        {
            JobsFailed++;
        }
        else if (fresh)
        {
            JobsCompleted++;
            JobCompletion.Record(end - start);
        }
        else
        {
            PartialJobsCompleted++;
        }
    }

    public void Close(long end)
    {
        WindowEnd = Math.Max(end, WindowStart);
        Closed = true;
        if (_remote is not null)
        {
            RemoteOccupancy(_remote);
        }
    }

    private List<(long Start, long End)>? _remote;

    /// <summary>
    /// A step on a remote endpoint (a server whose iterations this process cannot see) was in flight
    /// from <paramref name="submit"/> to <paramref name="done"/>. At the close, the device counts as
    /// active while any step is in flight, and its slots as filled by the steps in flight (at most
    /// <see cref="MaxBatch"/>, the server's batch slots as given).
    /// </summary>
    public void RemoteStep(long submit, long done)
    {
        if (done > WindowStart)
        {
            (_remote ??= []).Add((submit, done));
        }
    }

    private void RemoteOccupancy(List<(long Start, long End)> steps)
    {
        var edges = new List<(long T, int Delta)>(steps.Count * 2);
        foreach ((long start, long end) in steps)
        {
            long a = Math.Max(start, WindowStart), b = Math.Min(end, WindowEnd);
            if (b > a)
            {
                edges.Add((a, 1));
                edges.Add((b, -1));
            }
        }

        edges.Sort((x, y) => x.T != y.T ? x.T.CompareTo(y.T) : x.Delta.CompareTo(y.Delta));
        int inFlight = 0;
        long previous = WindowStart;
        foreach ((long t, int delta) in edges)
        {
            long span = t - previous;
            if (inFlight > 0 && span > 0)
            {
                DeviceActiveTicks += span;
                DeviceSlotTicks += span * Fill(inFlight);
            }

            inFlight += delta;
            previous = t;
        }
    }

    private double Fill(int sequences) => Math.Min(1.0, (double)sequences / MaxBatch);

    private bool InWindow(long t) => t >= WindowStart && t <= WindowEnd;

    private long Overlap(long start, long end) => Math.Max(0, Math.Min(end, WindowEnd) - Math.Max(start, WindowStart));
}

/// <summary>One tool's calls in the window: outcomes, service time on the worker, queueing, CPU, output.</summary>
public sealed class ToolStats
{
    private readonly List<ToolSample> _samples = new();

    public ToolStats(string name, long frequency)
    {
        Name = name;
        ServiceTime = new SampleRecorder(frequency, 1_000_000);
        QueueDelay = new SampleRecorder(frequency, 1_000_000);
    }

    public string Name { get; }

    public long Calls { get; private set; }

    public long[] Outcomes { get; } = new long[Enum.GetValues<ToolOutcome>().Length];

    /// <summary>Start to end on the worker, every outcome.</summary>
    public SampleRecorder ServiceTime { get; }

    /// <summary>Enqueued by the agent to started on a worker.</summary>
    public SampleRecorder QueueDelay { get; }

    public TimeSpan Cpu { get; private set; }

    public long OutputTokens { get; private set; }

    public ErrorLog Reasons { get; } = new();

    /// <summary>Service time, CPU time and output tokens of the first ok calls, for simulated projections.</summary>
    public IReadOnlyList<ToolSample> Samples => _samples;

    public long Failed => Calls - Outcomes[(int)ToolOutcome.Ok];

    internal void Add(ToolTicket ticket, ToolResult result, int tokens)
    {
        Calls++;
        Outcomes[(int)result.Outcome]++;
        long service = result.EndTimestamp - result.StartTimestamp;
        ServiceTime.Record(service);
        QueueDelay.Record(result.StartTimestamp - ticket.EnqueuedTimestamp);
        Cpu += result.CpuTime;
        OutputTokens += tokens;
        if (!result.Ok)
        {
            Reasons.Add($"{result.Outcome.ToString().ToLowerInvariant()}: {result.Reason}");
        }
        else if (_samples.Count < AgentAccounting.MaxServiceSamples)
        {
            _samples.Add(new ToolSample(service, result.CpuTime, tokens));
        }
    }
}

/// <summary>One measured ok call: wall time on its worker (clock ticks), CPU time (thread plus subprocesses), output tokens.</summary>
public readonly record struct ToolSample(long ServiceTicks, TimeSpan Cpu, int Tokens);
