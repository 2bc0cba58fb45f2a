using Harness.Metrics;
using System.Text.Json.Nodes;
using Harness.Results;
using Harness.Testing;

namespace Harness.Tests.Reports;

/// <summary>Result sets for the report tests: a concurrency sweep, optionally with telemetry and MFU/MBU.</summary>
internal static class ReportInputs
{
    public static List<LoadedResult> ConcurrencySweep(bool telemetry = false, bool roofline = false, string workload = "resnet18")
    {
        var rng = new Random(21);
        var results = new List<LoadedResult>();
        foreach (int workers in new[] { 1, 2, 4 })
        {
            double[] latencies = SyntheticResults.LogNormal(rng, 800, 20 * (1 + 0.3 * (workers - 1)), 0.2);
            ResultDocument doc = SyntheticResults.Make(latencies, 1000.0 * workers / latencies.Average(), workload, $"concurrency:{workers}", workers);
            if (roofline)
            {
                doc.Metrics.Set(MetricCatalog.Mfu, 0.05 * workers);
                doc.Metrics.Set(MetricCatalog.Mbu, 0.5);
            }

            var raw = (JsonObject)JsonNode.Parse(ResultJson.Serialize(doc))!;
            if (telemetry)
            {
                var samples = new JsonArray();
                for (int i = 0; i < 50; i++)
                {
                    samples.Add(new JsonObject { ["t_s"] = i * 0.1, ["power_w"] = 90 + 20 * workers + 5 * Math.Sin(i / 3.0), ["gpu_util_pct"] = 30 * workers, ["temperature_c"] = 60 });
                }

                // The CPU series as the harness writes it (columns beside t_s); the 4-worker run shared the machine from 1 s to 2 s.
                var t = new JsonArray();
                var other = new JsonArray();
                for (int i = 1; i <= 30; i++)
                {
                    t.Add(i * 0.1);
                    other.Add(workers == 4 && i is > 10 and <= 20 ? 0.9 : 0.02);
                }

                raw["telemetry"] = new JsonObject
                {
                    ["gpu"] = new JsonObject { ["samples"] = samples },
                    ["cpu"] = new JsonObject { ["series"] = new JsonObject { ["t_s"] = t, ["other_processes_cores"] = other } },
                };
            }

            results.Add(new LoadedResult($"/results/concurrency-{workers}.json", doc, raw));
        }

        return results;
    }
}
