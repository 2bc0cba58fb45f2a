using Harness.Measurement;
using Harness.Results;
using Harness.Validity;

namespace Harness.Testing;

/// <summary>
/// Result documents made from chosen samples, for the gate and report tests of the core and the CLI
/// (linked into both test projects): no workload runs, so every number is known in advance.
/// </summary>
internal static class SyntheticResults
{
    public static ResultDocument Make(
        double[] latencyMs,
        double throughputPerS = 100,
        string workload = "resnet18",
        string scenario = "single",
        int workers = 1,
        int batch = 1,
        bool valid = true)
    {
        var metrics = new ResultMetrics
        {
            RequestsOk = latencyMs.Length,
            DurationS = 30,
            ThroughputPerS = throughputPerS,
            ThroughputUnit = "samples",
            RequestsPerS = throughputPerS / batch,
            LatencyMs = latencyMs.Length > 0 ? DistributionSummary.FromMilliseconds(latencyMs) : null,
        };
        return new ResultDocument
        {
            HarnessVersion = "test",
            Workload = workload,
            Backend = "onnx:cpu",
            Scenario = scenario,
            StartedUtc = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc),
            Valid = valid,
            StopReason = "completed",
            Validity = [new ValidityCondition("min_duration", valid, "synthetic")],
            Config = new Dictionary<string, object?> { ["scenario"] = scenario, ["workers"] = workers, ["batch"] = batch },
            Metrics = metrics,
            Samples = latencyMs.Length > 0 ? new ResultSamples { LatencyMs = latencyMs, Stride = 1 } : null,
        };
    }

    /// <summary>
    /// Runs as a shared machine produces them (issue 19): each run's level drawn with a run-to-run
    /// CV (<paramref name="runCv"/>, log-normal), and within the run autocorrelated latencies, an
    /// AR(1) process on the log scale with coefficient <paramref name="phi"/> and marginal spread
    /// <paramref name="sigma"/>. One worker, so throughput is 1000 / mean latency. The files keep the
    /// summary and, with <paramref name="keepSamples"/>, the samples in recording order.
    /// </summary>
    public static List<ResultDocument> Runs(Random rng, int runs, double medianMs, double runCv = 0.08, double phi = 0.9, double sigma = 0.15, int perRun = 600, bool keepSamples = false, string workload = "minilm")
    {
        double runSigma = Math.Sqrt(Math.Log(1 + runCv * runCv));
        double innovation = sigma * Math.Sqrt(1 - phi * phi);
        var docs = new List<ResultDocument>();
        for (int r = 0; r < runs; r++)
        {
            double level = Math.Log(medianMs) + runSigma * Gaussian(rng);
            var latencies = new double[perRun];
            double x = sigma * Gaussian(rng);
            for (int i = 0; i < perRun; i++)
            {
                x = phi * x + innovation * Gaussian(rng);
                latencies[i] = Math.Round(Math.Exp(level + x), 6);
            }

            ResultDocument doc = Make(keepSamples ? latencies : [], Math.Round(1000.0 / latencies.Average(), 4), workload);
            doc.Metrics.LatencyMs = DistributionSummary.FromMilliseconds(latencies);
            doc.Metrics.RequestsOk = perRun;
            doc.Metrics.DurationS = latencies.Sum() / 1000;
            doc.StartedUtc = doc.StartedUtc.AddMinutes(r);
            docs.Add(doc);
        }

        return docs;
    }

    /// <summary>Log-normal latencies: median <paramref name="medianMs"/>, shape <paramref name="sigma"/> (about the CV when small).</summary>
    public static double[] LogNormal(Random rng, int n, double medianMs, double sigma)
    {
        var values = new double[n];
        for (int i = 0; i < n; i++)
        {
            values[i] = Math.Round(medianMs * Math.Exp(sigma * Gaussian(rng)), 6);
        }

        return values;
    }

    /// <summary>Standard normal by Box-Muller.</summary>
    public static double Gaussian(Random rng)
    {
        double u1 = 1 - rng.NextDouble();
        double u2 = rng.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    /// <summary>Writes a document as a result file and returns its path.</summary>
    public static string Write(string folder, string name, ResultDocument doc)
    {
        string path = Path.Combine(folder, name);
        AtomicFile.WriteAllText(path, ResultJson.Serialize(doc));
        return path;
    }

    /// <summary>A fresh folder under the system temp folder, deleted by <see cref="IDisposable.Dispose"/>.</summary>
    public sealed class TempFolder : IDisposable
    {
        public TempFolder() => Directory.CreateDirectory(Path);

        public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "harness-test-" + Guid.NewGuid().ToString("N"));

        public void Dispose()
        {
            try
            {
                Directory.Delete(Path, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
