namespace Harness.Measurement;

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

/// <summary>Requests of a phase by how they ended.</summary>
public readonly record struct RequestCounts(long Ok, long Error, long Timeout, long Cancelled)
{
    /// <summary>Every request, whatever its outcome.</summary>
    public long Total => Ok + Error + Timeout + Cancelled;

    /// <summary>Errors plus timeouts: what the error rate counts.</summary>
    public long Failed => Error + Timeout;

    public long this[RequestOutcome outcome] => outcome switch
    {
        RequestOutcome.Ok => Ok,
        RequestOutcome.Error => Error,
        RequestOutcome.Timeout => Timeout,
        _ => Cancelled,
    };

    public static RequestCounts operator +(RequestCounts a, RequestCounts b) =>
        new(a.Ok + b.Ok, a.Error + b.Error, a.Timeout + b.Timeout, a.Cancelled + b.Cancelled);
}
