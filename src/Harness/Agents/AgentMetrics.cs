using Harness.Agents.Scheduling;
using Harness.Agents.Tools;
using Harness.Measurement;
using Harness.Telemetry.Prometheus;
using Prometheus;

namespace Harness.Agents;

/// <summary>
/// An agent run's live series, on the run's registry beside <see cref="HarnessMetrics"/>: a turn is
/// the run's request (harness_requests_total, harness_request_latency_seconds), and these add jobs,
/// tool calls by tool and outcome, the tool queue, and the LLM device's busy time, whose rate is the
/// busy fraction. Tool names come from the profile, so the label set stays bounded.
/// </summary>
public sealed class AgentMetrics : IAgentObserver
{
    private readonly HarnessMetrics _run;
    private readonly double _secondsPerTick;
    private readonly Counter _jobs;
    private readonly Counter _toolCalls;
    private readonly Histogram _toolQueue;
    private readonly Histogram _toolService;
    private readonly Counter _llmBusy;
    private readonly Counter _llmActive;

    public AgentMetrics(HarnessMetrics run, long frequency)
    {
        _run = run;
        _secondsPerTick = 1.0 / frequency;
        MetricFactory f = run.Factory;
        _jobs = f.CreateCounter("harness_agent_jobs_total", "Agent jobs that ended in the measured window, by outcome (ok, failed).", "outcome");
        _toolCalls = f.CreateCounter("harness_agent_tool_calls_total", "Tool calls that ended in the measured window, by tool and outcome (ok, error, timeout, hung, cancelled).", "tool", "outcome");
        _toolQueue = f.CreateHistogram("harness_agent_tool_queue_seconds", "Time a tool call waited for a free worker.",
            new HistogramConfiguration { Buckets = HarnessMetrics.LatencyBuckets });
        _toolService = f.CreateHistogram("harness_agent_tool_service_seconds", "Time a tool call ran on its worker, by tool.",
            new HistogramConfiguration { Buckets = HarnessMetrics.LatencyBuckets, LabelNames = ["tool"] });
        _llmBusy = f.CreateCounter("harness_agent_llm_busy_seconds_total", "LLM device time weighted by the batch slots in use; its rate is the LLM busy fraction.");
        _llmActive = f.CreateCounter("harness_agent_llm_active_seconds_total", "LLM device time with any iteration running; its rate is the active fraction.");
        foreach (string outcome in new[] { "ok", "failed" })
        {
            _jobs.WithLabels(outcome);
        }
    }

    public void TurnEnded(bool ok, long latencyTicks) =>
        _run.RequestEnded(ok ? RequestOutcome.Ok : RequestOutcome.Error, latencyTicks, 0, 0);

    public void ToolCallEnded(string tool, ToolOutcome outcome, long queueTicks, long serviceTicks)
    {
        _toolCalls.WithLabels(tool, outcome.ToString().ToLowerInvariant()).Inc();
        _toolQueue.Observe(queueTicks * _secondsPerTick);
        _toolService.WithLabels(tool).Observe(serviceTicks * _secondsPerTick);
    }

    public void JobEnded(bool ok) => _jobs.WithLabels(ok ? "ok" : "failed").Inc();

    public void DeviceTime(double slotTicks, long activeTicks, int tokens)
    {
        _llmBusy.Inc(slotTicks * _secondsPerTick);
        _llmActive.Inc(activeTicks * _secondsPerTick);
        _run.UnitsProduced(0, tokens);
    }
}
