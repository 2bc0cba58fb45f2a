using Harness.Results;
using Harness.Testing;

namespace Harness.Cli.Tests.Commands;

/// <summary>Real models, end to end through the command line, for a few seconds each.</summary>
public class RunCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("harness-cli-run-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("resnet18", "single", "1")]
    [InlineData("minilm", "single", "1")]
    [InlineData("minilm", "concurrency:2", "2")]
    public void Real_models_produce_valid_result_files(string workload, string scenario, string batch)
    {
        string path = Path.Combine(_dir, $"{workload}.json");
        (int code, string output, string err) = CliRunner.Run(
            "run", workload, "--scenario", scenario, "--batch", batch, "--threads", "2", "--duration", "2s", "--warmup", "0.5s",
            "--min-requests", "50", "--max-duration", "2m", "--tail", "p90", "--out", path, SharedMachine.AllowNoisy);

        Assert.True(code == 0, $"exit {code}\n{output}\n{err}");
        Assert.Empty(ResultSchema.Validate(File.ReadAllText(path)));
        ResultDocument doc = ResultReader.ReadDocument(path);
        Assert.True(doc.Valid);
        Assert.Equal(workload, doc.Workload);
        Assert.Equal("onnx:cpu", doc.Backend);
        Assert.True(doc.Metrics.RequestsOk >= 44);
        Assert.Equal(0, doc.Metrics.RequestsFailed);
        Assert.True(doc.Metrics.LatencyMs!.P50 > 0);
        Assert.Equal(doc.Metrics.RequestsOk * int.Parse(batch, System.Globalization.CultureInfo.InvariantCulture), doc.Metrics.OutputUnits);
        Assert.Contains("VALID", output, StringComparison.Ordinal);
        Assert.Equal("1.32.0", doc.Hardware!.Packages["onnxruntime"]);
    }

    [Fact]
    public void An_invalid_run_exits_1_and_still_writes_its_file()
    {
        string path = Path.Combine(_dir, "short.json");
        (int code, string output, _) = CliRunner.Run("run", "minilm", "--duration", "1s", "--max-duration", "1s", "--min-requests", "1000000", "--warmup", "0s", "--out", path);
        Assert.Equal(ExitCodes.Invalid, code);
        ResultDocument doc = ResultReader.ReadDocument(path);
        Assert.False(doc.Valid);
        Assert.Equal("max_duration", doc.StopReason);
        Assert.Equal("max duration (1 s) reached before the minimum duration (1 s) and 1000000 requests were",
            doc.StopDetail);
        Assert.Contains(doc.Validity, v => v.Name == "min_requests" && !v.Passed);
        Assert.Contains("INVALID", output, StringComparison.Ordinal);
    }

    [Fact]
    public void By_default_measuring_goes_on_past_the_duration_until_the_tail_rule_holds()
    {
        // concurrency:1 targets p99: 459 requests, far more than minilm ends in 0.1 s.
        string path = Path.Combine(_dir, "tail.json");
        (int code, string output, string err) = CliRunner.Run(
            "run", "minilm", "--scenario", "concurrency:1", "--threads", "1", "--duration", "0.1s", "--warmup", "0s",
            "--max-duration", "5m", "--out", path, SharedMachine.AllowNoisy);

        Assert.True(code is 0 or 1, $"exit {code}\n{output}\n{err}");
        Assert.Empty(ResultSchema.Validate(File.ReadAllText(path)));
        ResultDocument doc = ResultReader.ReadDocument(path);
        Assert.Equal("tail_rule", doc.StopReason);
        Assert.StartsWith("tail rule: 459 latency samples for p99 (scenario concurrency:1)", doc.StopDetail, StringComparison.Ordinal);
        Assert.True(doc.Metrics.RequestsOk + doc.Metrics.RequestsFailed >= 459);
        Assert.Contains(doc.Validity, v => v.Name == "enough_samples_p99" && v.Passed);
        Assert.Contains("Stopped: tail rule: 459 latency samples", output, StringComparison.Ordinal);
    }

    [Fact]
    public void A_rate_too_low_for_the_tail_within_the_maximum_duration_is_warned_of_before_measuring()
    {
        string path = Path.Combine(_dir, "slow.json");
        (int code, string output, string err) = CliRunner.Run(
            "run", "minilm", "--scenario", "poisson:1", "--threads", "1", "--duration", "1s", "--max-duration", "2s", "--warmup", "0s",
            "--slo", "ttft_p99<5000ms", "--out", path, SharedMachine.AllowNoisy);

        Assert.Equal(ExitCodes.Invalid, code);
        Assert.Contains(
            "harness: warning: poisson:1: the tail rule needs 459 latency samples for p99 (scenario poisson:1): about 459 s at 1 req/s, "
            + "longer than --max-duration (2 s)", err, StringComparison.Ordinal);
        Assert.True(err.IndexOf("warning: poisson:1", StringComparison.Ordinal) < err.IndexOf("measuring", StringComparison.Ordinal), err);
        ResultDocument doc = ResultReader.ReadDocument(path);
        Assert.Equal("max_duration", doc.StopReason);
        // poisson:1 for 2 s: neither the 100 requests nor the tail's 459.
        Assert.StartsWith(
            "max duration (2 s) reached before the minimum duration (1 s) and 100 requests were, and before the tail rule held: ",
            doc.StopDetail, StringComparison.Ordinal);
        Assert.Contains("of 459 latency samples for p99 (scenario poisson:1)", doc.StopDetail, StringComparison.Ordinal);
        Assert.Contains(doc.Validity, v => v.Name == "enough_samples_p99" && !v.Passed);
    }

    [Fact]
    public void A_closed_loop_is_warned_of_at_its_warm_up_rate_before_measuring()
    {
        // p99.9 needs 4,603 samples: far more than minilm ends in 3 s on one thread.
        string path = Path.Combine(_dir, "closed.json");
        (int code, string output, string err) = CliRunner.Run(
            "run", "minilm", "--scenario", "concurrency:1", "--threads", "1", "--duration", "0.1s", "--warmup", "0.5s",
            "--max-duration", "3s", "--tail", "p99.9", "--out", path, SharedMachine.AllowNoisy);

        Assert.Equal(ExitCodes.Invalid, code);
        Assert.Contains("] warning: the tail rule needs 4603 latency samples for p999 (--tail): about ", err, StringComparison.Ordinal);
        Assert.Contains("(the warm-up's rate), longer than --max-duration (3 s)", err, StringComparison.Ordinal);
        Assert.Equal("max_duration", ResultReader.ReadDocument(path).StopReason);
    }

    [Fact]
    public void Onnx_file_runs_any_model_with_synthesized_inputs()
    {
        string model = Path.Combine(AppContext.BaseDirectory, "models", "ResNet18.onnx");
        string path = Path.Combine(_dir, "file.json");
        (int code, string output, string err) = CliRunner.Run("run", "onnx-file", "--model", model, "--shape", "Input247=1x3x224x224", "--duration", "1s", "--warmup-requests", "2", "--min-requests", "10", "--tail", "p90", "--out", path);
        Assert.True(code is 0 or 1, $"{output}\n{err}");
        ResultDocument doc = ResultReader.ReadDocument(path);
        Assert.Equal("onnx-file", doc.Workload);
        Assert.Equal(model, doc.Config["model_path"]?.ToString());
        Assert.True(doc.Metrics.RequestsOk >= 10);
    }
}
