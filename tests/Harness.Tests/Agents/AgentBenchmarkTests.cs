using Harness.Agents;
using Harness.Agents.Scheduling;
using Harness.Agents.Tools;
using Harness.Backends;
using Harness.Cost;
using Harness.Decoding;
using Harness.Metrics;
using Harness.Results;
using Harness.Running;
using Harness.Telemetry.Prometheus;
using Harness.Testing;
using Harness.Tests.Fakes;
using Harness.Tests.Telemetry.Prometheus;

namespace Harness.Tests.Agents;

/// <summary>
/// An agent run goes through the common runner: its result carries the telemetry every run has, its
/// live metrics are served while it runs, and it is priced from the catalog's offers.
/// </summary>
public sealed class AgentBenchmarkTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void An_agent_result_carries_cpu_telemetry_and_a_cost_per_job()
    {
        string path = Path.Combine(_dir.Path, "agents.json");
        RunOutcome outcome = Run(new RunOutput(path, Price: PriceArgument.Parse("3.6/gpu-h", DateOnly.FromDateTime(DateTime.UtcNow)), Disturbance: SharedMachine.Limits));

        ResultDocument doc = ResultReader.ReadDocument(path);
        Assert.Equal(outcome.Document.Metrics.Value(MetricCatalog.TurnsOk), doc.Metrics.Value(MetricCatalog.TurnsOk));
        Assert.NotNull(doc.Telemetry?.Cpu);
        Assert.True(doc.Telemetry!.Cpu!.UtilizationAvg is >= 0 and <= 1);
        // One LLM device is one GPU: 3.6 $/h, over the jobs it serves per hour.
        double jobsPerHour = doc.Metrics.Value(MetricCatalog.JobsPerHour)!.Value;
        Assert.Equal(3.6 / jobsPerHour, doc.Metrics.Value(MetricCatalog.UsdPerJob)!.Value, 6);
        Assert.NotNull(doc.Metrics.Value(MetricCatalog.UsdPerMtok));
        Assert.Equal(1, System.Text.RegularExpressions.Regex.Count(File.ReadAllText(path), "\"price\":"));
    }

    [RequiresBinariesFact("promtool")]
    public async Task An_agent_run_is_scraped_live_and_its_exposition_is_promtool_clean()
    {
        int port = FreePort.Get();
        var output = new RunOutput(
            Path.Combine(_dir.Path, "live.json"),
            Metrics: new MetricsOptions { Listen = $"127.0.0.1:{port}", Linger = TimeSpan.FromSeconds(30) },
            Disturbance: SharedMachine.Limits);
        using var scraping = new CancellationTokenSource();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        string last = "";
        bool sawMeasuring = false;
        Task scraper = Task.Run(async () =>
        {
            while (!scraping.IsCancellationRequested)
            {
                try
                {
                    string text = await http.GetStringAsync($"http://127.0.0.1:{port}/metrics", scraping.Token);
                    if (text.Length > 0) // not the endpoint closing under a scrape
                    {
                        last = text;
                        sawMeasuring |= last.Split('\n').Any(l => l.StartsWith("harness_run_phase{", StringComparison.Ordinal) && l.Contains("phase=\"measuring\"", StringComparison.Ordinal) && l.EndsWith(" 1", StringComparison.Ordinal));
                    }
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    // not up yet, or closed after the run
                }

                await Task.Delay(100);
            }
        });

        // 4 s measured: on a loaded machine the endpoint's first scrapes (JIT, a busy thread pool) can take over a second.
        RunOutcome outcome = await Task.Run(() => Run(output, measured: TimeSpan.FromSeconds(4)));
        await scraping.CancelAsync();
        await scraper;

        Assert.True(sawMeasuring, "no scrape saw the run measuring");
        Assert.Contains("harness_agent_tool_calls_total{", last, StringComparison.Ordinal);
        Assert.Contains("tool=\"fake\"", last, StringComparison.Ordinal);
        Assert.Contains("harness_agent_llm_busy_seconds_total", last, StringComparison.Ordinal);
        Assert.Contains("harness_result_agent_jobs_per_hour", last, StringComparison.Ordinal);
        // Live, the agents' turns are the run's requests (harness_requests_total); the file counts them as turns_ok.
        double? turns = outcome.Document.Metrics.Value(MetricCatalog.TurnsOk);
        Assert.Equal(turns, HarnessMetricsTests.Value(last, "harness_requests_total", "outcome=\"ok\""));
        (int code, string lint) = Promtool.CheckMetrics(last);
        Assert.True(code == 0 && lint.Trim().Length == 0, $"promtool exit {code}: {lint}\n{last}");
    }

    private static RunOutcome Run(RunOutput output, TimeSpan? measured = null)
    {
        var profile = AgentTestProfiles.Fixed(decode: 3, agents: 2, maxBatch: 2);
        var request = new AgentRunRequest
        {
            Profile = profile,
            Options = new AgentSchedulerOptions { Agents = 2, Workers = 1, MaxBatch = 2, BatchWindow = TimeSpan.FromMilliseconds(1) },
            Timing = new AgentRunTiming(TimeSpan.FromMilliseconds(200), measured ?? TimeSpan.FromSeconds(1.5)),
            Llm = new LlmChoice { Model = new LatencyModel { TtftMs = 2, TpotMs = 1 } },
            Validity = new AgentValidity(MinTurns: 1),
            Output = output,
        };
        return new AgentBenchmark(() => new ToolSet([new SpinTool(ms: 5)]), new BackendRegistry([]), nvml: FakeNvml.Loaded()).Run(request);
    }
}
