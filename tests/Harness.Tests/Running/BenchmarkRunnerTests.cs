using Harness.Backends;
using Harness.Engine;
using Harness.Engine.Scenarios;
using Harness.Measurement;
using Harness.Results;
using Harness.Running;
using Harness.Tests.Fakes;

namespace Harness.Tests.Running;

public class BenchmarkRunnerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("harness-runner-").FullName;
    private readonly BenchmarkRunner _runner = new(new BackendRegistry([new FakeBackendProvider()]), nvml: FakeNvml.Missing);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private RunRequest Request(TimeSpan duration, string? output = null, string backend = "fake:cpu", string workload = "sleep") => new(
        workload,
        BackendSpec.Parse(backend),
        new WorkloadOptions(),
        new RunSettings { Scenario = ClosedLoopScenario.Single, Warmup = WarmupRule.None, Stop = new StopRules(duration, 1, duration + TimeSpan.FromMinutes(1)) },
        output,
        _dir);

    [Fact]
    public void Writes_the_result_under_results_machine_by_default()
    {
        RunOutcome o = _runner.Run(Request(TimeSpan.FromMilliseconds(200)));
        Assert.StartsWith(_dir, o.Path, StringComparison.Ordinal);
        Assert.Matches(@"sleep_fake-cpu_single_\d{8}T\d{6}Z\.json$", o.Path);
        Assert.Empty(ResultSchema.Validate(File.ReadAllText(o.Path)));
        Assert.Equal("1.0", o.Document.Hardware!.Packages["fake"]);
    }

    [Fact]
    public async Task Cancellation_still_writes_the_result_flagged_cancelled()
    {
        // Cancelled once the run has measured a request (a fixed delay could fall before that on a slow machine).
        using var cts = new CancellationTokenSource();
        using var done = new CancellationTokenSource();
        var progress = new EngineProgress();
        Task cancel = Task.Run(async () =>
        {
            while (!done.IsCancellationRequested && !(progress.Phase == RunPhases.Measuring && progress.Completed > 0))
            {
                await Task.Delay(5);
            }

            cts.Cancel();
        });
        string path = Path.Combine(_dir, "cancelled.json");
        RunOutcome o = _runner.Run(Request(TimeSpan.FromMinutes(5), path), progress, cts.Token);
        done.Cancel();
        await cancel;

        Assert.Equal(ExitCodes.Invalid, o.ExitCode);
        ResultDocument doc = ResultReader.ReadDocument(path);
        Assert.True(doc.Cancelled);
        Assert.False(doc.Valid);
        Assert.Equal("cancelled", doc.StopReason);
        Assert.Contains(doc.Validity, v => v.Name == "not_cancelled" && !v.Passed);
        Assert.True(doc.Metrics.RequestsOk > 0);
    }

    [Fact]
    public void Bad_input_fails_before_anything_is_written()
    {
        Assert.Equal(ExitCodes.BadInput, Assert.Throws<HarnessException>(() => _runner.Run(Request(TimeSpan.Zero, workload: "nope"))).ExitCode);
        var gpu = Assert.Throws<HarnessException>(() => _runner.Run(Request(TimeSpan.Zero, backend: "fake:gpu")));
        Assert.Contains("no fake GPU", gpu.Message, StringComparison.Ordinal);
        Assert.Throws<HarnessException>(() => _runner.Run(Request(TimeSpan.Zero, backend: "onnx:cpu")));
        Assert.Throws<HarnessException>(() => _runner.Run(Request(TimeSpan.Zero, output: _dir)));
        Assert.Empty(Directory.GetFiles(_dir, "*", SearchOption.AllDirectories));
    }
}
