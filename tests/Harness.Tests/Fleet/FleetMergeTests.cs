using System.Text.Json.Nodes;
using Harness.Fleet;
using Harness.Results;
using Harness.Results.Validity;
using Harness.Telemetry;
using Harness.Testing;
using Harness.Validity;

namespace Harness.Tests.Fleet;

public sealed class FleetMergeTests : IDisposable
{
    private readonly FleetFolder _fleet = new();

    public void Dispose() => _fleet.Dispose();

    private FleetSummary Merge(MergeOptions? options = null) => FleetMerge.Merge(_fleet.Root, options);

    [Fact]
    public void A_healthy_fleet_has_no_flags_and_sums_throughput()
    {
        _fleet.WriteManifest(6);
        _fleet.WriteHealthyFleet(6);

        FleetSummary s = Merge();

        Assert.True(s.Healthy);
        Assert.Equal(6, s.Nodes.Count);
        Assert.All(s.Nodes, n => Assert.Equal(NodeStatus.Ok, n.Status));
        Assert.All(s.Nodes, n => Assert.Empty(n.Flags));
        Assert.Equal(600, s.Aggregate.ThroughputPerS, 6);
        Assert.Equal(100, s.Spread["throughput_per_s"].Median, 6);
        Assert.Equal(6, s.Aggregate.NodesMeasured);
        Assert.Equal(6 * 50, s.Aggregate.LatencyMs!.Count);
        Assert.Equal("minilm", s.Suite!.Workload);
        Assert.DoesNotContain("command_line", s.Suite.Config.Keys);
    }

    [Fact]
    public void A_planted_slow_node_is_the_only_one_flagged()
    {
        _fleet.WriteManifest(8);
        _fleet.WriteHealthyFleet(8);
        _fleet.WriteResult(5, FleetFolder.Result(throughput: 80, host: "n5"));

        FleetSummary s = Merge();

        NodeSummary slow = Assert.Single(s.Nodes, n => n.Outlier);
        Assert.Equal(5, slow.Task);
        OutlierFlag flag = Assert.Single(slow.Flags);
        Assert.Equal("throughput_per_s", flag.Metric);
        Assert.Equal("slow", flag.Direction);
        Assert.True(flag.RobustDeviations < -3.5, $"z = {flag.RobustDeviations}");
        Assert.Contains("below the fleet median", flag.Reason, StringComparison.Ordinal);
        Assert.False(s.Healthy);
        Assert.Equal(1, s.Aggregate.NodesFlagged);
    }

    [Fact]
    public void A_planted_tail_latency_node_is_flagged_on_p99_only()
    {
        _fleet.WriteHealthyFleet(7);
        _fleet.WriteResult(2, FleetFolder.Result(p99: 45, host: "n2"));

        FleetSummary s = Merge();

        NodeSummary node = Assert.Single(s.Nodes, n => n.Outlier);
        Assert.Equal(2, node.Task);
        OutlierFlag flag = Assert.Single(node.Flags);
        Assert.Equal("latency_p99_ms", flag.Metric);
        Assert.Equal("slow", flag.Direction);
    }

    [Fact]
    public void A_fast_node_is_flagged_as_fast()
    {
        _fleet.WriteHealthyFleet(5);
        _fleet.WriteResult(0, FleetFolder.Result(throughput: 130, host: "n0"));

        OutlierFlag flag = Assert.Single(Merge().Nodes.Single(n => n.Task == 0).Flags);

        Assert.Equal("fast", flag.Direction);
    }

    [Fact]
    public void K_decides_how_far_is_too_far()
    {
        // Median 100, MAD 1 (sigma 1.4826): the node at 94 is 6 / 1.4826 = 4.05 robust deviations below.
        double[] throughputs = [98, 99, 100, 100, 101, 102, 94];
        for (int i = 0; i < throughputs.Length; i++)
        {
            _fleet.WriteResult(i, FleetFolder.Result(throughput: throughputs[i], host: $"n{i}"));
        }

        Assert.Empty(Merge(new MergeOptions { K = 4.5 }).Nodes.SelectMany(n => n.Flags));
        NodeSummary flagged = Assert.Single(Merge(new MergeOptions { K = 3.5 }).Nodes, n => n.Outlier);
        Assert.Equal(6, flagged.Task);
        Assert.Equal(-4.05, flagged.Flags[0].RobustDeviations!.Value, 2);
    }

    [Fact]
    public void When_the_other_nodes_agree_exactly_the_noise_floor_decides()
    {
        for (int i = 0; i < 5; i++)
        {
            _fleet.WriteResult(i, FleetFolder.Result(throughput: 100, p50: 10, p99: 20, host: $"n{i}"));
        }

        _fleet.WriteResult(5, FleetFolder.Result(throughput: 99.5, p50: 10, p99: 20, host: "n5")); // 0.5%: noise
        _fleet.WriteResult(6, FleetFolder.Result(throughput: 96, p50: 10, p99: 20, host: "n6")); // 4%: beyond the 2% floor

        FleetSummary s = Merge();

        NodeSummary flagged = Assert.Single(s.Nodes, n => n.Outlier);
        Assert.Equal(6, flagged.Task);
        Assert.Null(flagged.Flags[0].RobustDeviations);
        Assert.Equal(0, s.Spread["throughput_per_s"].Mad);
    }

    [Fact]
    public void Throttle_time_of_the_gpu_a_task_used_flags_that_task_only()
    {
        // Two nodes with two GPUs each, one task per GPU; NVML reports both GPUs in every result.
        // On node b, GPU 1 throttled for 4.25 s: task 3 used it, task 2 (GPU 0 of the same node) did not.
        static void Telemetry(JsonObject json, double gpu1Throttle) => json["telemetry"] = new JsonObject
        {
            ["enabled"] = true,
            ["gpus"] = new JsonArray(
                new JsonObject { ["index"] = 0, ["uuid"] = "GPU-aaaa", ["throttle_s"] = 0.0 },
                new JsonObject { ["index"] = 1, ["uuid"] = "GPU-bbbb", ["throttle_s"] = gpu1Throttle, ["throttle_reasons_s"] = new JsonObject { ["sw_thermal_slowdown"] = gpu1Throttle } }),
        };
        for (int task = 0; task < 4; task++)
        {
            string host = task < 2 ? "a" : "b";
            double throttle = host == "b" ? 4.25 : 0;
            _fleet.WriteResult(task, FleetFolder.Result(host: host, backend: "onnx:cuda"), json => Telemetry(json, throttle));
            _fleet.WriteExit(task, 0, host, 4, gpus: (task % 2).ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        FleetSummary s = Merge();

        NodeSummary node = Assert.Single(s.Nodes, n => n.Outlier);
        Assert.Equal(3, node.Task);
        Assert.Equal(4.25, node.ThrottleS);
        Assert.Equal("NVIDIA H100 #1", node.Gpu);
        OutlierFlag flag = Assert.Single(node.Flags);
        Assert.Equal(("throttle_s", "throttled"), (flag.Metric, flag.Direction));
        Assert.Equal(0, s.Nodes.Single(n => n.Task == 2).ThrottleS);
    }

    [Fact]
    public void A_gpus_throttling_does_not_flag_a_cpu_run()
    {
        _fleet.WriteHealthyFleet(3);
        _fleet.WriteResult(0, FleetFolder.Result(host: "n0"), json =>
            json["telemetry"] = new JsonObject { ["gpus"] = new JsonArray(new JsonObject { ["index"] = 0, ["throttle_s"] = 9.0 }) });

        Assert.Null(Merge().Nodes.Single(n => n.Task == 0).ThrottleS);
    }

    [Fact]
    public void Throttle_comes_from_the_typed_telemetry_field_and_a_decoy_key_naming_throttle_is_ignored()
    {
        // Task 0: the typed telemetry.gpus[].throttle_s of its GPU says 2.5 s. Task 1: no GPU of its node throttled,
        // but the file carries decoys that a search for keys holding "throttle" would take (9 s the largest), and its
        // scheduler gave it a GPU the telemetry does not list, so the merge falls back to the node's GPUs.
        TelemetryReport Typed(double throttle) => new()
        {
            Enabled = true,
            Gpus =
            [
                new GpuTelemetry { Index = 0, Uuid = "GPU-aaaa", ThrottleS = throttle },
                new GpuTelemetry { Index = 1, Uuid = "GPU-bbbb", ThrottleS = 0 },
            ],
        };
        ResultDocument Node(int task, double throttle)
        {
            ResultDocument doc = FleetFolder.Result(host: $"n{task}", backend: "onnx:cuda");
            doc.Telemetry = Typed(throttle);
            return doc;
        }

        _fleet.WriteResult(0, Node(0, 2.5));
        _fleet.WriteResult(1, Node(1, 0), json =>
        {
            json["metrics"]!["gpu_throttle_ms"] = 9000;
            json["telemetry"]!["host_throttle_s"] = 7.0;
            json["telemetry"]!["gpus"]![0]!["throttle_total_s"] = 8.0;
        });
        _fleet.WriteResult(2, Node(2, 0));
        for (int task = 0; task < 3; task++)
        {
            _fleet.WriteExit(task, 0, $"n{task}", 3, gpus: task == 1 ? "GPU-cccc" : "0");
        }

        FleetSummary s = Merge();

        NodeSummary typed = s.Nodes.Single(n => n.Task == 0);
        Assert.Equal(2.5, typed.ThrottleS);
        Assert.Equal((FleetMetricNames.ThrottleS, "throttled"), (typed.Flags.Single().Metric, typed.Flags.Single().Direction));
        NodeSummary decoyed = s.Nodes.Single(n => n.Task == 1);
        Assert.Equal(0, decoyed.ThrottleS);
        Assert.Empty(decoyed.Flags);
        Assert.Equal(1, s.Aggregate.NodesFlagged);
    }

    [Fact]
    public void Throttle_is_read_only_from_the_typed_gpus_of_a_gpu_run()
    {
        ResultDocument Doc(TelemetryReport? telemetry)
        {
            ResultDocument doc = FleetFolder.Result(backend: "onnx:cuda");
            doc.Telemetry = telemetry;
            return doc;
        }

        var two = new TelemetryReport
        {
            Gpus = [new GpuTelemetry { Index = 0, ThrottleS = 1.5 }, new GpuTelemetry { Index = 1, Uuid = "GPU-bbbb", ThrottleS = 4 }],
        };

        Assert.Equal(4, NodeJudge.ThrottleSeconds(Doc(two), "GPU-bbbb"));
        Assert.Equal(1.5, NodeJudge.ThrottleSeconds(Doc(two), "0"));
        Assert.Equal(4, NodeJudge.ThrottleSeconds(Doc(two), "7")); // no such GPU: the largest of the node's
        Assert.Null(NodeJudge.ThrottleSeconds(Doc(two), null)); // a run on no GPU
        Assert.Null(NodeJudge.ThrottleSeconds(Doc(new TelemetryReport { Gpus = [new GpuTelemetry { Index = 0 }] }), "0"));
        Assert.Null(NodeJudge.ThrottleSeconds(Doc(null), "0"));
    }

    [Fact]
    public void Missing_and_failed_tasks_are_listed_with_their_reasons()
    {
        _fleet.WriteManifest(5);
        _fleet.WriteHealthyFleet(2);
        // Task 2: exited 2 without a result; its stderr tail is kept.
        _fleet.WriteExit(2, 2, "n2");
        _fleet.WriteLog(2, string.Join('\n', Enumerable.Range(1, 15).Select(i => $"line {i}")) + "\nharness: Backend 'onnx:cuda' is not usable here.\n");
        // Task 3: no trace at all. Task 4: no exit record, the scheduler says it timed out.
        var states = new[] { new SchedulerTaskState(4, "TIMEOUT", "n4", "exit 0:15", "sacct") };

        FleetSummary s = Merge(new MergeOptions { SchedulerStates = states });

        Assert.Equal(5, s.Nodes.Count);
        NodeSummary failed = s.Nodes.Single(n => n.Task == 2);
        Assert.Equal(NodeStatus.Failed, failed.Status);
        Assert.Equal(2, failed.ExitCode);
        Assert.Contains("exit code 2", failed.Reason, StringComparison.Ordinal);
        Assert.Equal(10, failed.LogTail!.Count);
        Assert.Equal("harness: Backend 'onnx:cuda' is not usable here.", failed.LogTail[^1]);
        NodeSummary missing = s.Nodes.Single(n => n.Task == 3);
        Assert.Equal(NodeStatus.Missing, missing.Status);
        Assert.Contains("never started", missing.Reason, StringComparison.Ordinal);
        NodeSummary timedOut = s.Nodes.Single(n => n.Task == 4);
        Assert.Equal(NodeStatus.Missing, timedOut.Status);
        Assert.Contains("TIMEOUT", timedOut.Reason, StringComparison.Ordinal);
        Assert.Equal("n4", timedOut.Name);
        Assert.False(s.Healthy);
        Assert.Equal((1, 2), (s.Aggregate.NodesFailed, s.Aggregate.NodesMissing));
        Assert.Equal(199.5, s.Aggregate.ThroughputPerS, 6);
    }

    [Fact]
    public void A_task_still_running_is_missing_with_the_schedulers_word()
    {
        _fleet.WriteManifest(3);
        _fleet.WriteHealthyFleet(2);

        FleetSummary s = Merge(new MergeOptions { SchedulerStates = [new SchedulerTaskState(2, "RUNNING", "n2", null, "squeue")] });

        NodeSummary node = s.Nodes.Single(n => n.Task == 2);
        Assert.Equal(NodeStatus.Missing, node.Status);
        Assert.Contains("no result yet", node.Reason, StringComparison.Ordinal);
        Assert.Contains("RUNNING on n2", node.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void The_expected_count_comes_from_the_exit_records_when_there_is_no_manifest()
    {
        _fleet.WriteResult(0, FleetFolder.Result(host: "n0"));
        _fleet.WriteExit(0, 0, "n0", tasks: 3);

        FleetSummary s = Merge();

        Assert.Equal(3, s.ExpectedTasks);
        Assert.Equal([0, 1, 2], s.Nodes.Select(n => n.Task!.Value));
    }

    [Fact]
    public void A_cancelled_run_is_a_failure_and_stays_out_of_the_spread()
    {
        _fleet.WriteHealthyFleet(3);
        _fleet.WriteResult(3, FleetFolder.Result(throughput: 5, host: "n3", cancelled: true));

        FleetSummary s = Merge();

        NodeSummary node = s.Nodes.Single(n => n.Task == 3);
        Assert.Equal(NodeStatus.Failed, node.Status);
        Assert.Contains("cancelled", node.Reason, StringComparison.Ordinal);
        Assert.Equal(3, s.Spread["throughput_per_s"].Count);
    }

    [Fact]
    public void An_invalid_result_counts_in_the_spread_and_says_which_condition_failed()
    {
        _fleet.WriteHealthyFleet(3);
        _fleet.WriteResult(1, FleetFolder.Result(valid: false, host: "n1"));
        _fleet.WriteExit(1, 1, "n1");

        FleetSummary s = Merge();

        NodeSummary node = s.Nodes.Single(n => n.Task == 1);
        Assert.Equal(NodeStatus.Invalid, node.Status);
        Assert.Contains("min_requests", node.Reason, StringComparison.Ordinal);
        Assert.Equal(3, s.Spread["throughput_per_s"].Count);
        Assert.False(s.Healthy);
    }

    [Fact]
    public void Another_schema_version_is_refused_with_the_files_name()
    {
        _fleet.WriteHealthyFleet(3);
        _fleet.WriteResult(2, FleetFolder.Result(host: "n2"), json => json["schema_version"] = 2);

        NodeSummary node = Merge().Nodes.Single(n => n.Task == 2);

        Assert.Equal(NodeStatus.Refused, node.Status);
        Assert.Contains("task-2.json", node.Reason, StringComparison.Ordinal);
        Assert.Contains("schema version 2", node.Reason, StringComparison.Ordinal);
        Assert.Equal("n2", node.Name);
    }

    [Fact]
    public void A_result_from_another_workload_is_refused_and_the_majority_suite_wins()
    {
        _fleet.WriteHealthyFleet(4);
        _fleet.WriteResult(0, FleetFolder.Result(host: "n0", workload: "resnet18"));

        FleetSummary s = Merge();

        Assert.Equal("minilm", s.Suite!.Workload);
        NodeSummary node = s.Nodes.Single(n => n.Task == 0);
        Assert.Equal(NodeStatus.Refused, node.Status);
        Assert.Contains("workload resnet18 where the fleet has minilm", node.Reason, StringComparison.Ordinal);
        Assert.Equal(3, s.Aggregate.NodesMeasured);
        Assert.Equal(1, s.Aggregate.NodesRefused);
    }

    [Fact]
    public void A_result_with_other_settings_is_refused_naming_the_setting()
    {
        _fleet.WriteHealthyFleet(3);
        _fleet.WriteResult(1, FleetFolder.Result(host: "n1", batch: 8));

        NodeSummary node = Merge().Nodes.Single(n => n.Task == 1);

        Assert.Equal(NodeStatus.Refused, node.Status);
        Assert.Contains("config batch 8 where the fleet has 1", node.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_json_file_that_is_not_a_result_is_refused_not_skipped()
    {
        _fleet.WriteHealthyFleet(3);
        FleetFolder.WriteJson(Path.Combine(_fleet.Layout.ResultsDir, "notes.json"), "{\"hello\": 1}");
        FleetFolder.WriteJson(Path.Combine(_fleet.Layout.ResultsDir, "broken.json"), "{\"schema_version\": 1, ");

        FleetSummary s = Merge();

        Assert.Equal(5, s.Nodes.Count);
        Assert.Contains(s.Nodes, n => n.File == Path.Combine("results", "notes.json") && n.Reason!.Contains("no schema_version", StringComparison.Ordinal));
        Assert.Contains(s.Nodes, n => n.File == Path.Combine("results", "broken.json") && n.Status == NodeStatus.Refused);
    }

    [Fact]
    public void A_plain_folder_of_results_merges_without_a_fleet_layout()
    {
        string dir = Path.Combine(_fleet.Root, "plain");
        for (int i = 0; i < 3; i++)
        {
            FleetFolder.WriteJson(Path.Combine(dir, $"machine{i}", "minilm.json"), Harness.Results.ResultJson.Serialize(FleetFolder.Result(host: $"m{i}")));
        }

        FleetSummary s = FleetMerge.Merge(dir);

        Assert.Equal(["m0", "m1", "m2"], s.Nodes.Select(n => n.Name).Order());
        Assert.All(s.Nodes, n => Assert.Null(n.Task));
        Assert.Null(s.ExpectedTasks);
        Assert.Contains(s.Notes, n => n.Contains("unknown", StringComparison.Ordinal));
        Assert.True(s.Healthy);
    }

    [Fact]
    public void The_gpu_of_a_cuda_task_comes_from_the_schedulers_assignment()
    {
        _fleet.WriteResult(0, FleetFolder.Result(host: "g0", backend: "onnx:cuda"));
        _fleet.WriteExit(0, 0, "g0", gpus: "1");

        Assert.Equal("NVIDIA H100 #1", Merge().Nodes[0].Gpu);
    }

    [Fact]
    public void Too_few_nodes_for_outliers_is_said_not_hidden()
    {
        _fleet.WriteResult(0, FleetFolder.Result(throughput: 100, host: "n0"));
        _fleet.WriteResult(1, FleetFolder.Result(throughput: 50, host: "n1"));

        FleetSummary s = Merge();

        Assert.All(s.Nodes, n => Assert.Empty(n.Flags));
        Assert.Contains(s.Notes, n => n.Contains("2 were measured", StringComparison.Ordinal));
    }

    [Fact]
    public void The_summary_file_round_trips_with_every_node()
    {
        _fleet.WriteManifest(3);
        _fleet.WriteHealthyFleet(2);
        FleetSummary s = Merge();

        FleetMerge.Write(s, _fleet.Layout.SummaryPath);

        var json = (JsonObject)JsonNode.Parse(File.ReadAllText(_fleet.Layout.SummaryPath))!;
        Assert.Equal("fleet_summary", (string?)json["kind"]);
        JsonArray nodes = json["nodes"]!.AsArray();
        Assert.Equal(3, nodes.Count);
        Assert.Equal("missing", (string?)nodes[2]!["status"]);
        Assert.Equal(2, (int?)json["aggregate"]!["nodes_measured"]);
        Assert.Equal(3.5, (double?)json["rule"]!["k"]);
        // Merging again ignores the summary it wrote.
        Assert.Equal(3, Merge().Nodes.Count);
    }

    [Fact]
    public void The_markdown_table_has_a_row_per_task_and_the_reasons()
    {
        _fleet.WriteManifest(4);
        _fleet.WriteHealthyFleet(3);

        string md = FleetMarkdown.Render(Merge());

        Assert.Contains("3 of 4 tasks measured", md, StringComparison.Ordinal);
        Assert.Contains("| 3 | - |  | missing |", md, StringComparison.Ordinal);
        Assert.Contains("| throughput_per_s | 3 |", md, StringComparison.Ordinal);
        Assert.Contains("task 3 (-): missing: no result and no exit record", md, StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_input_is_refused_in_one_sentence()
    {
        Assert.Contains("does not exist", Assert.Throws<HarnessException>(() => FleetMerge.Merge(Path.Combine(_fleet.Root, "nope"))).Message, StringComparison.Ordinal);
        Assert.Contains("nothing to merge", Assert.Throws<HarnessException>(() => Merge()).Message, StringComparison.Ordinal);
        Assert.Contains("--k", Assert.Throws<HarnessException>(() => Merge(new MergeOptions { K = 0 })).Message, StringComparison.Ordinal);
        Assert.Contains("--min-deviation", Assert.Throws<HarnessException>(() => Merge(new MergeOptions { MinDeviation = -1 })).Message, StringComparison.Ordinal);
        Assert.Contains("--expect", Assert.Throws<HarnessException>(() => Merge(new MergeOptions { ExpectedTasks = 0 })).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_heterogeneous_fleet_is_grouped_by_fingerprint_and_judged_within_each_group()
    {
        // Six AVX-512 nodes at 100/s and four AVX2-only nodes at 70/s: two fleets, neither slow.
        _fleet.WriteManifest(10);
        for (int i = 0; i < 10; i++)
        {
            bool avx512 = i < 6;
            ResultDocument doc = FleetFolder.Result(throughput: (avx512 ? 100 : 70) + i % 3 * 0.5, p50: avx512 ? 10 : 14, p99: avx512 ? 20 : 28, host: $"n{i}",
                cpuFeatures: avx512 ? ["avx2", "fma", "avx512f"] : ["avx2", "fma"]);
            _fleet.WriteResult(i, doc);
            _fleet.WriteExit(i, 0, $"n{i}", 10);
        }

        FleetSummary s = Merge();
        string md = FleetMarkdown.Render(s);

        Assert.True(s.Healthy);
        Assert.All(s.Nodes, n => Assert.Empty(n.Flags));
        Assert.Equal([(1, 6), (2, 4)], s.Groups.Select(g => (g.Id, g.Nodes)));
        Assert.Equal("Test CPU, 2 cores, avx512f", s.Groups[0].Hardware);
        Assert.StartsWith("cpu features: avx2, fma, avx512f -> avx2, fma", Assert.Single(s.Groups[1].DiffersFromFirst), StringComparison.Ordinal);
        Assert.Equal(100.5, s.Groups[0].Spread["throughput_per_s"].Median, 6);
        Assert.Equal(70.25, s.Groups[1].Spread["throughput_per_s"].Median, 6);
        Assert.Contains(s.Notes, n => n.StartsWith("The fleet is heterogeneous: 2 hardware groups", StringComparison.Ordinal));
        Assert.Contains("| group 2 spread |", md, StringComparison.Ordinal);
    }

    [Fact]
    public void A_slow_node_of_a_group_is_flagged_against_its_group_median()
    {
        _fleet.WriteManifest(8);
        for (int i = 0; i < 8; i++)
        {
            bool avx512 = i < 4;
            double throughput = (avx512 ? 100 : 70) + i % 2 * 0.5 - (i == 6 ? 20 : 0);
            ResultDocument doc = FleetFolder.Result(throughput: throughput, host: $"n{i}", cpuFeatures: avx512 ? ["avx2", "fma", "avx512f"] : ["avx2", "fma"]);
            _fleet.WriteResult(i, doc);
            _fleet.WriteExit(i, 0, $"n{i}", 8);
        }

        FleetSummary s = Merge();

        NodeSummary flagged = Assert.Single(s.Nodes, n => n.Outlier);
        Assert.Equal(6, flagged.Task);
        Assert.Contains("below its group's median 70.25", flagged.Flags.Single(f => f.Metric == "throughput_per_s").Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_disturbed_node_is_listed_as_disturbed_not_slow()
    {
        _fleet.WriteManifest(5);
        _fleet.WriteHealthyFleet(5);
        ResultDocument busy = FleetFolder.Result(throughput: 60, host: "n2", valid: false);
        busy.Validity = [new ValidityCondition(QuietHostRule.Name, false, "other processes used 1.02 cores (51% of the machine) during the window (at most 0.1 allowed)")];
        busy.Telemetry = new TelemetryReport
        {
            Enabled = true,
            Disturbance = new DisturbanceReport { OtherProcessesCores = 1.02, Disturbed = true, Causes = ["other processes used 1.02 cores (51% of the machine) during the window (at most 0.1 allowed)"] },
        };
        _fleet.WriteResult(2, busy);

        FleetSummary s = Merge();
        NodeSummary n2 = s.Nodes.Single(n => n.Task == 2);

        Assert.Equal(NodeStatus.Disturbed, n2.Status);
        Assert.Empty(n2.Flags);
        Assert.StartsWith("disturbed, not slow: other processes used 1.02 cores", n2.Reason, StringComparison.Ordinal);
        Assert.False(s.Healthy);
        Assert.Equal(4, s.Spread["throughput_per_s"].Count);
        Assert.Equal(1, s.Aggregate.NodesDisturbed);
        Assert.Contains("| disturbed |", FleetMarkdown.Render(s), StringComparison.Ordinal);
    }
}
