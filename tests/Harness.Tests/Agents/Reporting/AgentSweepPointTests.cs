using System.Text.Json;
using System.Text.Json.Nodes;
using Harness.Agents.Reporting;
using Harness.Measurement;
using Harness.Results;
using Harness.Testing;

namespace Harness.Tests.Agents.Reporting;

/// <summary>
/// The agents-sweep file is a contract: a point carries the figures of its run's agents section under
/// the same keys, in the same order, with the same number formatting, and a committed sweep file reads
/// and writes back unchanged (but for the keys renamed since it was written).
/// </summary>
public class AgentSweepPointTests
{
    [Fact]
    public void A_point_copies_the_report_figures_under_the_file_keys_in_the_file_order()
    {
        var report = new AgentRunReport
        {
            Profile = "not in a point", Agents = 8, Cores = 2, Llm = "latency-model", Batching = "continuous", MaxBatch = 4,
            Workers = 3, WindowS = 60, LlmBusyFraction = 0.625, LlmActiveFraction = 0.5, JobsPerHour = 391.5, TurnsPerS = 4.25,
            TokensPerS = 1750.5, LlmMeanDecodeBatch = 2.75, CpuUtilization = 0.375, ToolWorkerBusyFraction = 0.875,
            ToolShareOfTurnTime = 0.125, ToolQueueMs = new DistributionSummary { Count = 15, P50 = 12.5, P90 = 18.25 },
            ToolLatencyMs = new DistributionSummary { Count = 15, P50 = 74.5, P90 = 80 }, JobsCompleted = 7, JobsFailed = 1,
            TurnsPerAgent = 2.875, LoadAverage1m = 1.5, Turns = 23, OutputTokens = 105030,
        };
        report.Tools["grep"] = new AgentToolReport { Calls = 10, Ok = 8, Errors = 2 };
        report.Tools["json"] = new AgentToolReport { Calls = 5, Ok = 5 };

        AgentSweepPoint point = AgentSweepPoint.From(report, oversubscribed: true, usdPerJob: 0.0175, result: "w3.json");

        Assert.Equal("""
            {
              "workers": 3,
              "oversubscribed": true,
              "window_s": 60,
              "llm_busy_fraction": 0.625,
              "llm_active_fraction": 0.5,
              "simulated_llm_busy_fraction": null,
              "jobs_per_hour": 391.5,
              "turns_per_s": 4.25,
              "tokens_per_s": 1750.5,
              "llm_mean_decode_batch": 2.75,
              "cpu_utilization": 0.375,
              "tool_worker_busy_fraction": 0.875,
              "tool_share_of_turn_time": 0.125,
              "tool_queue_ms_p50": 12.5,
              "tool_queue_ms_p90": 18.25,
              "tool_latency_ms_p50": 74.5,
              "jobs_completed": 7,
              "turns_per_agent": 2.875,
              "tool_calls": 15,
              "tool_calls_failed": 2,
              "usd_per_job": 0.0175,
              "result": "w3.json",
              "load_average1m": 1.5
            }
            """, JsonSerializer.Serialize(point, ResultJson.Options).ReplaceLineEndings("\n"));
    }

    [Fact]
    public void A_point_without_tool_calls_or_price_has_nulls_and_zeros_where_the_report_has_none()
    {
        AgentSweepPoint point = AgentSweepPoint.From(new AgentRunReport { Workers = 1 }, oversubscribed: false);

        JsonObject json = JsonSerializer.SerializeToNode(point, ResultJson.Options)!.AsObject();
        string[] absent =
            ["tool_queue_ms_p50", "tool_queue_ms_p90", "tool_latency_ms_p50", "cpu_utilization", "usd_per_job", "result", "load_average1m"];
        Assert.All(absent, k => Assert.Null(json[k]));
        Assert.Equal(0, json["tool_calls"]!.GetValue<long>());
        Assert.Equal(0, json["tool_calls_failed"]!.GetValue<long>());
    }

    [Fact]
    public void The_report_fixture_sweep_file_writes_back_byte_for_byte()
    {
        string file = Path.Combine(Repository.Root, "tests", "fixtures", "report", "agents-sweep", ResultReader.AgentSweepFileName);
        string original = File.ReadAllText(file).ReplaceLineEndings("\n");

        string written = JsonSerializer.Serialize(AgentSweepJson.Read(file), ResultJson.Options).ReplaceLineEndings("\n");

        Assert.Equal(Leaves(original), Leaves(written));
        Assert.Equal(original.TrimEnd('\n'), written);
    }

    [Fact]
    public void The_points_of_a_committed_sweep_file_of_the_older_schema_write_back_unchanged_but_for_the_renamed_key()
    {
        // Written before cost_per_job_usd became usd_per_job and points named their result (its hardware block is older too).
        string file = Path.Combine(
            Repository.ResultFixtures, "cpu-amd-epyc-avx512-2c", "agents-sweep_coding-agent_h100-llama-1b_20261126.json");
        List<string> before = Leaves(File.ReadAllText(file), "points");

        List<string> after = Leaves(JsonSerializer.Serialize(AgentSweepJson.Read(file), ResultJson.Options), "points");

        string[] renamed = [".cost_per_job_usd=", ".usd_per_job=", ".result="];
        Assert.True(before.Count >= 40, $"{before.Count} leaves");
        Assert.Equal(
            before.Where(l => !renamed.Any(k => l.Contains(k, StringComparison.Ordinal))),
            after.Where(l => !renamed.Any(k => l.Contains(k, StringComparison.Ordinal))));
        Assert.Equal(
            before.Count(l => l.Contains(renamed[0], StringComparison.Ordinal)),
            after.Count(l => l.Contains(renamed[1], StringComparison.Ordinal)));
    }

    [Fact]
    public void An_older_sweep_keeps_its_price_and_cost_per_job_under_todays_names()
    {
        string file = Path.Combine(
            Repository.ResultFixtures, "cpu-amd-epyc-avx512-2c", "agents-sweep_coding-agent_h100-llama-1b_20261126.json");
        JsonNode old = JsonNode.Parse(File.ReadAllText(file))!;
        double[] oldCosts = old["points"]!.AsArray().Select(p => p!["cost_per_job_usd"]!.GetValue<double>()).ToArray();

        AgentSweepDocument sweep = AgentSweepJson.Read(file);

        Assert.NotEmpty(oldCosts);
        Assert.Equal(oldCosts, sweep.Points.Select(p => p.UsdPerJob ?? double.NaN));
        JsonNode price = JsonSerializer.SerializeToNode(sweep.Price, ResultJson.Options)!;
        Assert.Equal(old["price_per_gpu_hour"]!.GetValue<double>(), price["value"]!.GetValue<double>());
        Assert.Equal("USD/gpu-h", price["unit"]!.GetValue<string>());
    }

    /// <summary>Every leaf of a JSON text as <c>path=raw text</c>, in document order: keys, their order and number formatting.</summary>
    private static List<string> Leaves(string json, string? under = null)
    {
        var leaves = new List<string>();
        Walk(JsonNode.Parse(json), "");
        return under is null ? leaves : leaves.Where(l => l.StartsWith(under + ".", StringComparison.Ordinal)).ToList();

        void Walk(JsonNode? node, string path)
        {
            switch (node)
            {
                case JsonObject { Count: 0 } or JsonArray { Count: 0 }:
                    leaves.Add($"{path}={node.ToJsonString()}");
                    break;
                case JsonObject o:
                    foreach ((string key, JsonNode? child) in o)
                    {
                        Walk(child, path.Length == 0 ? key : $"{path}.{key}");
                    }

                    break;
                case JsonArray a:
                    for (int i = 0; i < a.Count; i++)
                    {
                        Walk(a[i], $"{path}.{i}");
                    }

                    break;
                default:
                    leaves.Add($"{path}={node?.ToJsonString() ?? "null"}");
                    break;
            }
        }
    }
}
