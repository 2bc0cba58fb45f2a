using System.CommandLine;
using Harness.Metrics;
using Harness.Running;
using Harness.Telemetry;
using Harness.Telemetry.Prometheus;

namespace Harness.Cli.Commands;

/// <summary>
/// Where a run's result goes and what travels with it, shared by every command that runs something
/// (<c>run</c>, <c>run agents</c>, <c>agents sweep</c>, each side of <c>ab</c>): the results folder,
/// telemetry, live Prometheus metrics and the Pushgateway, the price, and the disturbance a run may
/// share the machine with. Declared once, built into
/// one <see cref="RunOutput"/>.
/// </summary>
internal sealed class OutputOptions
{
    public Option<string> ResultsDir { get; } = new("--results-dir") { Description = "Folder for default result paths.", DefaultValueFactory = _ => "results" };

    public Option<TimeSpan> TelemetryInterval { get; } =
        OptionParsers.Duration("--telemetry-interval", "How often GPU (NVML) and CPU telemetry is sampled (10ms to 60s).", "100ms");

    public Option<bool> NoTelemetry { get; } = new("--no-telemetry") { Description = "Do not sample GPU and CPU telemetry; the result then has no power or energy." };

    public Option<string?> MetricsAddress { get; } = new("--metrics") { Description = $"Serve live Prometheus metrics at [HOST:]PORT/metrics during the run (loopback unless HOST is given; 0.0.0.0 for every interface), e.g. 127.0.0.1:{MetricsEndpoint.DefaultPort}." };

    public Option<TimeSpan> MetricsLinger { get; } = OptionParsers.Duration(
        "--metrics-linger",
        "After the run, keep --metrics up until one more scrape, at most this long (e.g. 15s), so Prometheus sees the final values.",
        "0s");

    public Option<string?> Pushgateway { get; } = new("--pushgateway") { Description = "Push the final metrics to this Prometheus Pushgateway URL, grouped by job, instance, workload and backend." };

    public Option<string?> Job { get; } = new("--job") { Description = "Pushgateway job name (default: harness)." };

    public Option<bool> PushDelete { get; } = new("--push-delete") { Description = "Delete this run's Pushgateway group before the run, so the previous run's figures are not shown as current." };

    public Option<bool> PushRequired { get; } = new("--push-required") { Description = "Exit 1 when the push fails (otherwise a failed push is a warning)." };

    public Option<string[]> MaxInterference { get; } = new(DisturbanceLimits.Option)
    {
        Description = $"What the run may share the machine with and stay valid (the quiet_host condition; default cpu=0.1,steal=2%,gpu=0,throttle=10%): {DisturbanceLimits.Syntax}.",
    };

    public Option<int?> ServerPid { get; } = new(ServerProcessLocator.PidOption)
    {
        Description = "The server under test's process (with its children), when the URL's port does not lead to it: a server behind"
            + " a proxy or in a container. By default a loopback URL is traced to the process listening on its port;"
            + " its CPU is reported and not counted as disturbance.",
    };

    public Option<bool> AllowNoisy { get; } = new("--allow-noisy") { Description = "Keep a run disturbed beyond --max-interference valid, flagged as noisy in every view (compare then does not refuse it)." };

    /// <summary>--instance / --price / --prices: the result then carries its cost per million output units (and per job for agents).</summary>
    public PriceOptions Prices { get; } = new();

    public void AddTo(Command command)
    {
        foreach (Option o in new Option[] { ResultsDir, TelemetryInterval, NoTelemetry, MetricsAddress, MetricsLinger, Pushgateway, Job, PushDelete, PushRequired, MaxInterference, AllowNoisy, ServerPid })
        {
            command.Add(o);
        }

        Prices.AddTo(command);
    }

    /// <summary>Validates the values and builds the output of a run; <paramref name="outputPath"/> is --out (a file, or a folder for multi-run jobs).</summary>
    public RunOutput Build(ParseResult parse, string? outputPath) => new(
        outputPath,
        parse.GetValue(ResultsDir)!,
        new Dictionary<string, object?> { [ConfigKeys.CommandLine] = "harness " + string.Join(' ', parse.Tokens.Select(t => t.Value)) },
        BuildTelemetry(parse),
        BuildMetrics(parse),
        Prices.Resolve(parse).Chosen,
        DisturbanceLimits.Parse(parse.GetValue(MaxInterference) ?? [], parse.GetValue(AllowNoisy)))
    {
        ServerPid = parse.GetValue(ServerPid) is < 1
            ? throw HarnessException.BadInput($"{ServerProcessLocator.PidOption} must be a process id (1 or more).")
            : parse.GetValue(ServerPid),
    };

    private TelemetryOptions BuildTelemetry(ParseResult parse)
    {
        TimeSpan interval = parse.GetValue(TelemetryInterval);
        if (interval < TelemetryOptions.MinInterval || interval > TelemetryOptions.MaxInterval)
        {
            throw HarnessException.BadInput("--telemetry-interval must lie between 10ms and 60s.");
        }

        return parse.GetValue(NoTelemetry) ? TelemetryOptions.Off : new TelemetryOptions { Interval = interval };
    }

    private MetricsOptions BuildMetrics(ParseResult parse)
    {
        string? gateway = parse.GetValue(Pushgateway);
        if (gateway is null && (parse.GetValue(Job) is not null || parse.GetValue(PushDelete) || parse.GetValue(PushRequired)))
        {
            throw HarnessException.BadInput("--job, --push-delete and --push-required need --pushgateway URL.");
        }

        string? listen = parse.GetValue(MetricsAddress);
        if (listen is not null)
        {
            MetricsEndpoint.ParseAddress(listen); // a bad address is bad input before anything loads
        }

        return new MetricsOptions
        {
            Listen = listen,
            Linger = parse.GetValue(MetricsLinger),
            Pushgateway = gateway is null ? null : PushgatewayClient.ParseUrl(gateway),
            Job = parse.GetValue(Job) is { } j ? OptionParsers.Label(j, "--job") : "harness",
            PushDelete = parse.GetValue(PushDelete),
            PushRequired = parse.GetValue(PushRequired),
        };
    }
}
