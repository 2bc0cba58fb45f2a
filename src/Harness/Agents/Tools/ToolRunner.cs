using Harness.Agents.Jobs;
using Harness.Measurement;

namespace Harness.Agents.Tools;

/// <summary>How a tool call ended. Every call ends in exactly one of these and stays in the counts.</summary>
public enum ToolOutcome
{
    Ok,
    /// <summary>The tool threw or reported a failure (non-zero exit, signal, output limit...).</summary>
    Error,
    /// <summary>It passed its timeout and stopped when told to.</summary>
    Timeout,
    /// <summary>It passed its timeout and did not stop; its worker was replaced and the call abandoned.</summary>
    Hung,
    /// <summary>The run ended while it ran.</summary>
    Cancelled,
}

/// <summary>One finished tool call as measured on its worker.</summary>
public sealed record ToolResult(
    ToolOutcome Outcome,
    string? Reason,
    int OutputTokens,
    long StartTimestamp,
    long EndTimestamp,
    TimeSpan CpuTime)
{
    public bool Ok => Outcome == ToolOutcome.Ok;

    /// <summary>The text the agent reads (the tool's output, or its error); null where it is not kept (simulated runs).</summary>
    public string? Text { get; init; }
}

/// <summary>
/// Runs one call on the current thread with its timeout: a cooperative tool sees the timeout through
/// its cancellation token; every exception becomes a failed call with its reason. Hangs (a tool that
/// ignores the token) are caught one level up, by the scheduler's watchdog.
/// </summary>
public static class ToolRunner
{
    /// <summary>Reasons are cut to this length so that a tool cannot flood the error log.</summary>
    public const int MaxReasonLength = 300;

    public static ToolResult Run(IAgentTool tool, ToolCallPlan call, int worker, TimeSpan timeout, IClock clock, CancellationToken runToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(runToken);
        cts.CancelAfter(timeout);
        TimeSpan cpu0 = CpuTime.CurrentThread();
        long start = clock.Timestamp;
        ToolOutcome outcome;
        string? reason = null;
        int tokens = 0;
        string? text = null;
        TimeSpan subprocess = TimeSpan.Zero;
        try
        {
            ToolOutput output = tool.Invoke(call, new ToolContext(worker, cts.Token));
            tokens = output.EstimatedTokens;
            text = output.Text;
            subprocess = output.SubprocessCpu;
            outcome = ToolOutcome.Ok;
        }
        catch (OperationCanceledException) when (runToken.IsCancellationRequested)
        {
            (outcome, reason) = (ToolOutcome.Cancelled, "the run ended during the call");
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            (outcome, reason) = (ToolOutcome.Timeout, $"exceeded its {timeout.TotalSeconds:0.###} s timeout");
        }
        catch (System.Text.RegularExpressions.RegexMatchTimeoutException)
        {
            (outcome, reason) = (ToolOutcome.Timeout, "a regular expression exceeded its match timeout");
        }
        catch (ToolFailedException e)
        {
            (outcome, reason) = (ToolOutcome.Error, e.Message);
        }
        catch (Exception e)
        {
            (outcome, reason) = (ToolOutcome.Error, $"{e.GetType().Name}: {e.Message}");
        }

        long end = clock.Timestamp;
        if (outcome == ToolOutcome.Ok && end - start > timeout.TotalSeconds * clock.Frequency)
        {
            // The cancellation timer may fire late on a loaded machine, or a tool may check its token
            // rarely: a call that ends past its timeout is a timeout all the same, as in the engine.
            (outcome, reason) = (ToolOutcome.Timeout, $"finished after its {timeout.TotalSeconds:0.###} s timeout");
        }

        TimeSpan cpu = CpuTime.CurrentThread() - cpu0 + subprocess;
        if (reason is { Length: > MaxReasonLength })
        {
            reason = reason[..MaxReasonLength] + "...";
        }

        if (outcome != ToolOutcome.Ok)
        {
            // The agent reads the error instead of an output.
            tokens = Math.Max(1, ((reason?.Length ?? 0) + 3) / 4);
            text = reason;
        }

        return new ToolResult(outcome, reason, tokens, start, end, cpu) { Text = text };
    }
}
