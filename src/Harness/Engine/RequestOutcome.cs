namespace Harness.Engine;

/// <summary>How a request ended. Every request ends in exactly one of these and stays in the counts.</summary>
public enum RequestOutcome
{
    Ok = 0,
    Error = 1,
    /// <summary>Completed, but after the request timeout: its latency is kept out of the percentiles.</summary>
    Timeout = 2,
    /// <summary>Stopped by Ctrl-C or the run's cancellation.</summary>
    Cancelled = 3,
}
