namespace Harness.Telemetry.Prometheus;

/// <summary>The Prometheus side of a run: a live endpoint, a final push, or neither.</summary>
public sealed record MetricsOptions
{
    public static MetricsOptions None { get; } = new();

    /// <summary>Address of the live /metrics endpoint (<c>--metrics</c>); null for none.</summary>
    public string? Listen { get; init; }

    /// <summary>
    /// After the run, keep serving until Prometheus has scraped once more (so it sees the final values),
    /// but no longer than this. Zero stops at once.
    /// </summary>
    public TimeSpan Linger { get; init; }

    /// <summary>Pushgateway base URL (<c>--pushgateway</c>); null for no push.</summary>
    public Uri? Pushgateway { get; init; }

    public string Job { get; init; } = "harness";

    /// <summary>Delete this run's group before the run, so the previous run's final figures are not shown as current while it runs.</summary>
    public bool PushDelete { get; init; }

    /// <summary>A failed push fails the run's exit code (otherwise it is only a warning).</summary>
    public bool PushRequired { get; init; }

    /// <summary>The grouping key's instance label: the machine.</summary>
    public string Instance { get; init; } = Environment.MachineName;

    public bool Any => Listen is not null || Pushgateway is not null;
}
