namespace Harness.ServerMetrics;

/// <summary>
/// <c>--server-metrics</c>, parsed before anything connects: off, the endpoint's own /metrics (the
/// default: no answer there only leaves a note), or a URL given (which must answer).
/// </summary>
public sealed record ServerMetricsOption
{
    /// <summary>The endpoint's own metrics URL, if it names one.</summary>
    public static readonly ServerMetricsOption EndpointDefault = new();

    /// <summary>Not scraped.</summary>
    public bool Off { get; init; }

    /// <summary>The URL given; null for the endpoint's own.</summary>
    public Uri? Url { get; init; }

    /// <summary>null for the default, "off" or "none", or an http:// or https:// URL; anything else is bad input.</summary>
    public static ServerMetricsOption Parse(string? option) => option switch
    {
        null => EndpointDefault,
        "off" or "none" => new ServerMetricsOption { Off = true },
        _ when Uri.TryCreate(option, UriKind.Absolute, out Uri? given) && given.Scheme is "http" or "https" =>
            new ServerMetricsOption { Url = given },
        _ => throw HarnessException.BadInput($"--server-metrics '{option}' is not an http:// or https:// URL (or 'off')."),
    };
}
