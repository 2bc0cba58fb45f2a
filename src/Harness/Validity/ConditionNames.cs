namespace Harness.Validity;

/// <summary>
/// Every validity-condition name a result can carry under <c>validity</c>, declared once (as
/// Metrics/MetricCatalog.cs declares the metrics). Rules take their names from here and readers
/// (the sweep runner, the gate, the fleet merge) pick conditions by these names, never by a literal;
/// tests/Harness.Tests/Metrics/CatalogLiteralTests fails on any of them written as a string literal
/// elsewhere in src. Names never change within a schema version.
/// </summary>
public static class ConditionNames
{
    // The engine's rules (DefaultValidityRules).
    /// <summary>The measured window lasted at least the minimum duration.</summary>
    public const string MinDuration = "min_duration";

    /// <summary>The window held at least the minimum count of requests.</summary>
    public const string MinRequests = "min_requests";

    /// <summary>Failed requests / all requests stayed within --max-error-rate.</summary>
    public const string ErrorRate = "error_rate";

    /// <summary>The run ended by its stop rules, not by cancellation.</summary>
    public const string NotCancelled = "not_cancelled";

    /// <summary>No tail percentile was targeted: the run passes the tail rule by having none.</summary>
    public const string EnoughSamplesForTail = "enough_samples_for_tail";

    /// <summary>Every SLO limit was met (present with a pass and "no SLO given" when none was).</summary>
    public const string Slo = "slo";

    /// <summary>An open-loop run kept up with its arrival schedule.</summary>
    public const string NotOverloaded = "not_overloaded";

    /// <summary>The monotonic clock agreed with the wall clock over the window.</summary>
    public const string Clock = "clock";

    /// <summary>The telemetry sampler behind the energy figures was alive for the whole window.</summary>
    public const string TelemetryAlive = "telemetry_alive";

    /// <summary>The machine was not disturbed beyond the limits (Trust/Disturbance).</summary>
    public const string QuietHost = "quiet_host";

    // A request-level endpoint's own conditions (generate -b openai:URL).
    /// <summary>At least one request ended ok.</summary>
    public const string RequestsOk = "requests_ok";

    /// <summary>The client's threads stayed under the CPU that would make the client the bottleneck.</summary>
    public const string ClientCpu = "client_cpu";

    /// <summary>Requests were sent close enough to their scheduled time (p99 send lag).</summary>
    public const string SendLag = "send_lag";

    // An agents run's own conditions (Agents/Reporting/AgentResults: it makes no requests; the window's rules apply too).
    /// <summary>At least --min-turns turns ended ok in the window.</summary>
    public const string MinTurns = "min_turns";

    /// <summary>Failed turns / all turns stayed within --max-error-rate.</summary>
    public const string TurnErrorRate = "turn_error_rate";

    /// <summary>The agents ran until the window closed: the run was not aborted (hung tool workers, a failed LLM device).</summary>
    public const string AgentsCompleted = "agents_completed";

    /// <summary>The prefix of the tail rule's conditions, one per targeted percentile (<see cref="EnoughSamples"/>).</summary>
    public const string EnoughSamplesPrefix = "enough_samples_";

    /// <summary>The tail rule's condition for the percentile named <paramref name="percentile"/> (p99: enough_samples_p99).</summary>
    public static string EnoughSamples(string percentile) => EnoughSamplesPrefix + percentile;

    /// <summary>
    /// The percentile a tail-rule condition is about (p99 for enough_samples_p99); null for any other
    /// condition, <see cref="EnoughSamplesForTail"/> included.
    /// </summary>
    public static string? EnoughSamplesPercentile(string name) =>
        name.StartsWith(EnoughSamplesPrefix, StringComparison.Ordinal) && name != EnoughSamplesForTail
            ? name[EnoughSamplesPrefix.Length..]
            : null;

    /// <summary>
    /// The conditions a rate or concurrency point of a sweep fails by the load it was offered, not
    /// by a fault of the run: a sweep goes on past them (the tail rule's are added per percentile).
    /// </summary>
    public static IReadOnlyList<string> LoadDependent { get; } = [Slo, NotOverloaded, ErrorRate];
}
