using System.Text.Json;
using Harness.Results;

namespace Harness.Cli.Tests.Commands;

/// <summary>cost, project and plan from real result files (decode-proxy runs on an H200), and their bad inputs.</summary>
public sealed class CapacityCommandsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("capacity-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Project_writes_estimates_with_error_bars_atomically()
    {
        string outFile = Path.Combine(_dir, "proj.json");
        var (code, output, error) = CliRunner.Run("project", CliRunner.H200Run(), "--to", "gb200", "--out", outFile);

        Assert.True(code == 0, error);
        Assert.Contains("projected to gb200", output, StringComparison.Ordinal);
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(outFile));
        JsonElement m = doc.RootElement.GetProperty("metrics");
        foreach (string name in new[] { "ttft_ms", "tpot_ms", "output_tokens_per_s", "mfu", "mbu", "j_per_token", "usd_per_mtok" })
        {
            JsonElement e = m.GetProperty(name);
            Assert.True(e.GetProperty("low").GetDouble() <= e.GetProperty("value").GetDouble(), name);
            Assert.True(e.GetProperty("value").GetDouble() <= e.GetProperty("high").GetDouble(), name);
        }

        Assert.Equal("h200", doc.RootElement.GetProperty("source").GetProperty("card").GetString());
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp"));
    }

    [Fact]
    public void Project_names_its_answer_engine_across_cards_decoder_on_the_measured_card_or_as_asked()
    {
        string outFile = Path.Combine(_dir, "answer.json");
        var (code, output, error) = CliRunner.Run("project", CliRunner.H200Run(), "--model", "llama-70b", "--to", "gb200", "--dtype", "fp4",
            "--batch", "256", "--out", outFile);
        Assert.True(code == 0, error);
        Assert.Contains("Answer (engine): a production engine on gb200, device time only", output, StringComparison.Ordinal);
        Assert.Contains("(assumed)", output, StringComparison.Ordinal);
        using (JsonDocument doc = JsonDocument.Parse(File.ReadAllText(outFile)))
        {
            JsonElement a = doc.RootElement.GetProperty("answer");
            Assert.Equal("engine", a.GetProperty("name").GetString());
            Assert.Equal("assumed", a.GetProperty("residual_source").GetString());
        }

        (code, output, error) = CliRunner.Run("project", CliRunner.H200Run(), "--to", "gb200", "--answer", "decoder");
        Assert.True(code == 0, error);
        Assert.Contains("Answer (decoder): this harness's decoder on gb200", output, StringComparison.Ordinal);
        (code, output, error) = CliRunner.Run("project", CliRunner.H200Run(), "--to", "h200");
        Assert.True(code == 0, error);
        Assert.Contains("Answer (decoder): this harness's decoder on h200", output, StringComparison.Ordinal);
        (code, _, error) = CliRunner.Run("project", CliRunner.H200Run(), "--to", "gb200", "--answer", "fastest");
        Assert.Equal(2, code);
        Assert.Contains("--answer 'fastest' is neither decoder", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Plan_names_its_answer_engine_by_default()
    {
        var (code, output, error) = CliRunner.Run("plan", "--workload", CliRunner.H200Run(), "--target", "50000 tok/s",
            "--slo", "tpot_p99<50ms", "--cards", "h200,gb200");
        Assert.True(code == 0, error);
        Assert.Contains("Answer (engine): a production engine on each card", output, StringComparison.Ordinal);
        (code, output, error) = CliRunner.Run("plan", "--workload", CliRunner.H200Run(), "--target", "50000 tok/s",
            "--slo", "tpot_p99<50ms", "--cards", "h200,gb200", "--answer", "decoder");
        Assert.True(code == 0, error);
        Assert.Contains("Answer (decoder): this harness's decoder on each card", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Project_to_the_measured_card_reproduces_the_measured_latencies()
    {
        string outFile = Path.Combine(_dir, "self.json");
        Assert.Equal(0, CliRunner.Run("project", CliRunner.H200Run(), "--to", "h200", "--out", outFile).Code);
        ResultDocument run = ResultReader.ReadDocument(CliRunner.H200Run());
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(outFile));
        JsonElement m = doc.RootElement.GetProperty("metrics");
        Assert.Equal(run.Metrics.TtftMs!.P50, m.GetProperty("ttft_ms").GetProperty("value").GetDouble(), 6);
        Assert.Equal(run.Metrics.TpotMs!.P50, m.GetProperty("tpot_ms").GetProperty("value").GetDouble(), 6);
    }

    [Theory]
    [InlineData("--to", "tpu-v9", "Unknown card 'tpu-v9'; known: a100-sxm")]
    [InlineData("--tp", "16", "outside 1..8")]
    [InlineData("--price", "98.32", "needs a unit")]
    [InlineData("--instance", "p9.huge", "Unknown instance 'p9.huge'; known: ")]
    [InlineData("--percentile", "p42", "Unknown percentile 'p42'")]
    public void Project_bad_input_is_one_sentence_and_exit_2(string option, string value, string expected)
    {
        var args = new List<string> { "project", CliRunner.H200Run(), "--to", "h100" };
        if (option == "--to")
        {
            args[3] = value;
        }
        else
        {
            args.AddRange([option, value]);
        }

        var (code, output, error) = CliRunner.Run([.. args]);
        Assert.Equal(2, code);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.Single(error.Trim().Split('\n'));
        Assert.Empty(output);
    }

    [Fact]
    public void Project_of_a_model_that_cannot_fit_is_exit_2()
    {
        ResultDocument run = ResultReader.ReadDocument(CliRunner.H200Run());
        run.Config["params"] = 70e9; // 140 GB of bf16 weights
        string big = Path.Combine(_dir, "big.json");
        File.WriteAllText(big, ResultJson.Serialize(run));

        var (code, _, error) = CliRunner.Run("project", big, "--to", "h100", "--tp", "1");
        Assert.Equal(2, code);
        Assert.Contains("does not fit even at TP 1", error, StringComparison.Ordinal);
        Assert.Equal(0, CliRunner.Run("project", big, "--to", "h100").Code); // picks TP 2 by itself
    }

    [Fact]
    public void Project_of_a_run_on_an_unknown_gpu_asks_for_from()
    {
        ResultDocument run = ResultReader.ReadDocument(CliRunner.H200Run());
        string path = Path.Combine(_dir, "unknown-gpu.json");
        File.WriteAllText(path, ResultJson.Serialize(run).Replace("\"NVIDIA H200\"", "\"NVIDIA RTX 9090\"", StringComparison.Ordinal));

        var (code, _, error) = CliRunner.Run("project", path, "--to", "h100");
        Assert.Equal(2, code);
        Assert.Contains("--from", error, StringComparison.Ordinal);
        Assert.Equal(0, CliRunner.Run("project", path, "--to", "h100", "--from", "h200").Code);
    }

    [Fact]
    public void Cost_lists_the_run_cards_offers_and_a_given_instance()
    {
        var (code, output, error) = CliRunner.Run("cost", CliRunner.H200Run());
        Assert.True(code == 0, error);
        Assert.Contains("aws/p5en.48xlarge", output, StringComparison.Ordinal);
        Assert.DoesNotContain("p5.48xlarge |", output, StringComparison.Ordinal);

        string outFile = Path.Combine(_dir, "cost.json");
        Assert.Equal(0, CliRunner.Run("cost", CliRunner.H200Run(), "--instance", "azure/ND96isr_H100_v5", "--out", outFile).Code);
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(outFile));
        JsonElement line = doc.RootElement[0];
        double tps = ResultReader.ReadDocument(CliRunner.H200Run()).Metrics.ThroughputPerS;
        Assert.Equal(98.32 / 8 / (tps * 3600) * 1e6, line.GetProperty("usd_per_million").GetDouble(), 9);

        (code, output, _) = CliRunner.Run("cost", CliRunner.H200Run(), "--all");
        Assert.Equal(0, code);
        Assert.Contains("oci/BM.GPU.GB300.4", output, StringComparison.Ordinal);
        Assert.Contains("use 'harness project'", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Cost_of_a_priced_agents_result_uses_its_own_price_and_says_so()
    {
        // An agents point priced at run time (--instance aws/p5.48xlarge) on a machine whose card the catalog does not know.
        string path = Path.Combine(CliRunner.RepoRoot, "tests", "fixtures", "report", "agents-sweep", "w1.json");
        ResultDocument doc = ResultReader.ReadDocument(path);
        double perJob = doc.Metrics.Value(Harness.Metrics.MetricCatalog.UsdPerJob)!.Value;
        string outFile = Path.Combine(_dir, "own.json");

        var (code, output, error) = CliRunner.Run("cost", path, "--out", outFile);

        Assert.True(code == 0, error);
        string said = "Priced with the result's own price (config.price, set when it ran): aws/p5.48xlarge, 55.04 USD/h (2026-09-19";
        Assert.Contains(said, output, StringComparison.Ordinal);
        Assert.Contains("charged 6.88 $/h (1 of 8 GPUs of 55.04 USD/h)", output, StringComparison.Ordinal);
        Assert.Contains("$/job", output, StringComparison.Ordinal);
        using JsonDocument lines = JsonDocument.Parse(File.ReadAllText(outFile));
        Assert.Equal(perJob, Assert.Single(lines.RootElement.EnumerateArray()).GetProperty("usd_per_job").GetDouble(), 6);

        // A price given on the command line still wins over the result's own.
        (code, output, error) = CliRunner.Run("cost", path, "--price", "8/gpu-h");
        Assert.True(code == 0, error);
        Assert.DoesNotContain("own price", output, StringComparison.Ordinal);
        Assert.Contains("| --price |", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Cost_with_a_price_file_lacking_dates_is_exit_2()
    {
        string prices = Path.Combine(_dir, "prices.json");
        File.WriteAllText(prices, """{ "offers": [ { "instance": "box", "device": "h200", "gpus": 8, "price": { "value": 50, "unit": "USD/h" } } ] }""");
        var (code, _, error) = CliRunner.Run("cost", CliRunner.H200Run(), "--prices", prices);
        Assert.Equal(2, code);
        Assert.Contains("without a date", error, StringComparison.Ordinal);

        File.WriteAllText(prices, """{ "offers": [ { "instance": "box", "device": "h200", "gpus": 8, "price": { "value": 50, "date": "2026-11-01" } } ] }""");
        (code, _, error) = CliRunner.Run("cost", CliRunner.H200Run(), "--prices", prices);
        Assert.Equal(2, code);
        Assert.Contains("without a unit", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Plan_writes_table_json_markdown_svg_and_html()
    {
        string json = Path.Combine(_dir, "plan.json"), md = Path.Combine(_dir, "plan.md"), svg = Path.Combine(_dir, "plan.svg"), html = Path.Combine(_dir, "plan.html");
        var (code, output, error) = CliRunner.Run("plan", "--workload", CliRunner.H200Run("llama-8b_bs32"), "--target", "50000 tok/s",
            "--slo", "ttft_p99<500ms,tpot_p99<50ms", "--out", json, "--markdown", md, "--svg", svg, "--html", html);

        Assert.True(code == 0, error);
        foreach (string card in new[] { "h100-sxm", "h200", "b200", "gb200", "gb300" })
        {
            Assert.Contains($"| {card} |", output, StringComparison.Ordinal);
        }

        Assert.Equal(output, File.ReadAllText(md));
        Assert.StartsWith("<svg", File.ReadAllText(svg), StringComparison.Ordinal);
        string page = File.ReadAllText(html);
        Assert.Contains("data-chart=\"plan-gpus\"", page, StringComparison.Ordinal);
        Assert.Contains("Measured card:", page, StringComparison.Ordinal);
        using JsonDocument plan = JsonDocument.Parse(File.ReadAllText(json));
        Assert.Equal(5, plan.RootElement.GetProperty("cards").GetArrayLength());
    }

    [Fact]
    public void Project_a_bf16_h200_run_to_gb200_in_fp4_states_the_precision_change_and_its_basis()
    {
        // The issue's done-when command, on the harness's own TorchSharp run.
        string run = Path.Combine(
            Harness.Testing.Repository.ResultFixtures, "nvidia-h200-x1", "decoders", "torch-generate-llama-1b-b64.json");
        string outFile = Path.Combine(_dir, "fp4.json");
        var (code, output, error) = CliRunner.Run("project", run, "--to", "gb200", "--dtype", "fp4", "--out", outFile);

        Assert.True(code == 0, error);
        Assert.Contains("Precision: changed from bf16 to fp4", output, StringComparison.Ordinal);
        Assert.Contains("fp4 measured on neither card", output, StringComparison.Ordinal);
        Assert.Contains("\nMeasured:\n- latencies: TTFT p50 61.576 ms", output, StringComparison.Ordinal);
        Assert.Contains("\nFrom the catalog:\n", output, StringComparison.Ordinal);
        Assert.Contains("\nAssumed:\n- precision:", output, StringComparison.Ordinal);
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(outFile));
        JsonElement precision = doc.RootElement.GetProperty("precision");
        Assert.Equal("bf16", precision.GetProperty("run").GetString());
        Assert.Equal("fp4", precision.GetProperty("target").GetString());
        Assert.Contains(doc.RootElement.GetProperty("basis").EnumerateArray(), b => b.GetProperty("source").GetString() == "measured");
    }

    [Fact]
    public void Plan_takes_a_dtype_per_card_and_a_larger_model()
    {
        string run = Path.Combine(
            Harness.Testing.Repository.ResultFixtures, "nvidia-h200-x1", "decoders", "torch-generate-llama-1b-b64.json");
        var (code, output, error) = CliRunner.Run("plan", "--workload", run, "--target", "100k", "--slo", "ttft_p99<5s,tpot_p99<200ms",
            "--cards", "h100,h200,gb200", "--dtype", "h100=fp8,gb200=fp4", "--kv-dtype", "fp8", "--model", "llama-70b");

        Assert.True(code == 0, error);
        Assert.Contains("| h100-sxm | fp8 |", output, StringComparison.Ordinal);
        Assert.Contains("| gb200 | fp4 (KV cache fp8) |", output, StringComparison.Ordinal);
        Assert.Contains("| h200 | bf16 (KV cache fp8) |", output, StringComparison.Ordinal);
        Assert.Contains("Model llama-70b is planned from a run of llama-1b", output, StringComparison.Ordinal);
        Assert.Contains("- gb200 in fp4 (KV cache fp8): fp4 measured on neither card", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Project_reads_a_published_figure()
    {
        string figure = Path.Combine(_dir, "published.json");
        File.WriteAllText(figure, """
            { "kind": "published_throughput", "source": "a table", "card": "h200", "model": "gpt-oss-120b",
              "dtype": "fp8", "kv_dtype": "bf16", "tp": 1, "prompt_tokens": 1000, "new_tokens": 1000, "output_tokens_per_s_per_gpu": 6868 }
            """);
        var (code, output, error) = CliRunner.Run("project", figure, "--to", "gb200", "--dtype", "fp4", "--kv-dtype", "fp8", "--batch", "max");

        Assert.True(code == 0, error);
        Assert.Contains("\nPublished:\n- throughput: 6,868 output tokens/s per GPU, gpt-oss-120b fp8 on h200 TP 1", output, StringComparison.Ordinal);
        Assert.Contains("- experts read:", output, StringComparison.Ordinal);
        Assert.StartsWith("Measured card: NVIDIA H200 SXM 141GB (h200), as the published figure names it; a published figure carries no hardware fingerprint", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Project_and_plan_say_which_card_they_took_from_the_fingerprint_and_whether_from_agrees()
    {
        var (_, fingerprint, _) = CliRunner.Run("project", CliRunner.H200Run(), "--to", "gb200");
        var (_, named, _) = CliRunner.Run("plan", "--workload", CliRunner.H200Run(), "--target", "50000 tok/s", "--slo", "ttft_p99<500ms,tpot_p99<50ms", "--from", "h100");

        Assert.StartsWith("Measured card: NVIDIA H200 SXM 141GB (h200), from the result's hardware fingerprint (GPU 0: NVIDIA H200, driver 580.159.04, power limit 700 W).", fingerprint, StringComparison.Ordinal);
        Assert.Matches(@"^Measured card: .+ \(h100-sxm\), named by --from; the result's fingerprint records GPU 0: NVIDIA H200, .*which matches NVIDIA H200 SXM 141GB \(h200\), NOT the card named", named);
    }

    [Theory]
    [InlineData("--dtype", "fp9", "--dtype 'fp9' is not a known dtype")]
    [InlineData("--batch", "lots", "--batch 'lots' is neither")]
    [InlineData("--model", "no-such-model", "Unknown model config 'no-such-model'")]
    public void Project_bad_precision_batch_or_model_is_exit_2(string option, string value, string expected)
    {
        var (code, _, error) = CliRunner.Run("project", CliRunner.H200Run(), "--to", "gb200", option, value);
        Assert.Equal(2, code);
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--slo", "ttft<500", "--slo 'ttft<500' is not an objective")]
    [InlineData("--target", "lots", "--target 'lots' is not a rate")]
    [InlineData("--cards", "h100,x200", "Unknown card 'x200'")]
    public void Plan_bad_input_is_exit_2(string option, string value, string expected)
    {
        var args = new Dictionary<string, string> { ["--slo"] = "tpot_p99<50ms", ["--target"] = "50k", ["--cards"] = "h100" };
        args[option] = value;
        var (code, _, error) = CliRunner.Run(["plan", "--workload", CliRunner.H200Run(), .. args.SelectMany(kv => new[] { kv.Key, kv.Value })]);
        Assert.Equal(2, code);
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Plan_with_an_agents_sweep_sizes_cpu_cores()
    {
        var sweep = new Harness.Agents.Reporting.AgentSweepDocument { CoresPerGpuFor90pctBusy = 4, CoresPerGpuBasis = "measured" };
        string agentFile = Path.Combine(_dir, ResultReader.AgentSweepFileName);
        File.WriteAllText(agentFile, JsonSerializer.Serialize(sweep, ResultJson.Options));
        string json = Path.Combine(_dir, "plan.json");

        Assert.Equal(0, CliRunner.Run("plan", "--workload", CliRunner.H200Run(), "--target", "10k", "--slo", "tpot_p99<50ms", "--cards", "h200",
            "--agents", agentFile, "--out", json).Code);
        using JsonDocument plan = JsonDocument.Parse(File.ReadAllText(json));
        JsonElement card = plan.RootElement.GetProperty("cards")[0];
        Assert.Equal(4 * card.GetProperty("gpus").GetProperty("value").GetDouble(), card.GetProperty("cpu_cores").GetDouble());
    }

    [Fact]
    public void Run_refuses_a_price_without_unit_before_measuring()
    {
        var (code, output, error) = CliRunner.Run("run", "resnet18", "--price", "98.32", "--out", Path.Combine(_dir, "r.json"));
        Assert.Equal(2, code);
        Assert.Contains("needs a unit", error, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_dir, "r.json")));
        Assert.Empty(output);
    }

    [Fact]
    public void Run_with_a_price_writes_the_cost_into_the_result()
    {
        string path = Path.Combine(_dir, "resnet.json");
        var (code, output, error) = CliRunner.Run("run", "resnet18", "--duration", "0.3s", "--warmup", "0s", "--min-requests", "3",
            "--threads", "2", "--price", "0.36/h", "--out", path);

        Assert.True(code is 0 or 1, error);
        ResultDocument doc = ResultReader.ReadDocument(path);
        double expected = 0.36 / (doc.Metrics.ThroughputPerS * 3600) * 1e6;
        Assert.Equal(expected, DocumentValues.ExtraNumber(doc.Metrics, "usd_per_m_samples")!.Value, tolerance: 1e-4); // the file keeps 4 decimals
        Assert.Equal(0.36, DocumentValues.ExtraNumber(doc.Metrics, "usd_per_hour"));
        Assert.Contains("Cost:", output, StringComparison.Ordinal);
        Assert.Equal("--price", DocumentValues.AsElement(doc.Config["price"])!.Value.GetProperty("source").GetString());
        Assert.False(doc.Metrics.Extra!.ContainsKey("price")); // the price appears once in the file
        Assert.Equal(1, System.Text.RegularExpressions.Regex.Count(File.ReadAllText(path), "\"price\":"));
    }
}
