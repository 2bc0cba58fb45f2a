using System.Text.Json;
using Harness.Hardware;
using Harness.Results;
using Harness.Tests.Fakes;

namespace Harness.Tests.Results;

public class ResultFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("harness-results-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static HardwareFingerprint Hardware() => HardwareProbe.Probe(new Dictionary<string, string?> { ["onnxruntime"] = "1.31.0", ["torchsharp"] = null }, FakeNvml.Missing);

    [Fact]
    public void A_built_document_matches_the_committed_schema()
    {
        ResultDocument doc = ResultBuilder.Build(Runs.Fake(tokens: 8), "fake", "onnx:cpu", Hardware());
        string json = ResultJson.Serialize(doc);
        Assert.Empty(ResultSchema.Validate(json));

        using JsonDocument parsed = JsonDocument.Parse(json);
        JsonElement m = parsed.RootElement.GetProperty("metrics");
        foreach (string field in new[] { "p50", "p90", "p95", "p99", "p999", "mean", "min", "max" })
        {
            Assert.True(m.GetProperty("latency_ms").TryGetProperty(field, out _), field);
        }

        Assert.True(m.TryGetProperty("ttft_ms", out _));
        Assert.Equal(JsonValueKind.Array, parsed.RootElement.GetProperty("hardware").GetProperty("gpus").ValueKind);
    }

    [Fact]
    public void The_schema_rejects_a_document_without_required_fields()
    {
        ResultDocument doc = ResultBuilder.Build(Runs.Fake(), "fake", "onnx:cpu", Hardware());
        var node = System.Text.Json.Nodes.JsonNode.Parse(ResultJson.Serialize(doc))!.AsObject();
        node["metrics"]!.AsObject().Remove("latency_ms");
        node.Remove("valid");
        IReadOnlyList<string> errors = ResultSchema.Validate(node.ToJsonString());
        Assert.NotEmpty(errors);
    }

    [Fact]
    public void Round_trip_keeps_the_stable_fields()
    {
        ResultDocument doc = ResultBuilder.Build(Runs.Fake(), "fake", "onnx:cpu", Hardware());
        string path = Path.Combine(_dir, "r.json");
        AtomicFile.WriteAllText(path, ResultJson.Serialize(doc));
        ResultDocument back = ResultReader.ReadDocument(path);

        Assert.Equal(doc.Workload, back.Workload);
        Assert.Equal(doc.Valid, back.Valid);
        Assert.Equal(doc.Metrics.RequestsOk, back.Metrics.RequestsOk);
        Assert.Equal(doc.Metrics.LatencyMs!.P99, back.Metrics.LatencyMs!.P99);
        Assert.Equal(doc.Validity.Count, back.Validity.Count);
        Assert.Equal(doc.Samples!.LatencyMs.Length, back.Samples!.LatencyMs.Length);
        Assert.Equal(ResultJson.Serialize(doc), ResultJson.Serialize(back));
    }

    [Fact]
    public void Atomic_write_replaces_whole_files_and_leaves_no_temporary_behind()
    {
        string path = Path.Combine(_dir, "sub", "r.json");
        AtomicFile.WriteAllText(path, "{\"old\":1}");
        AtomicFile.WriteAllText(path, "{\"new\":2}");
        Assert.Equal("{\"new\":2}", File.ReadAllText(path));
        Assert.Single(Directory.GetFiles(Path.GetDirectoryName(path)!));
    }

    [Fact]
    public void A_failed_atomic_write_keeps_the_old_file_and_removes_the_temporary()
    {
        string path = Path.Combine(_dir, "keep.json");
        AtomicFile.WriteAllText(path, "old");
        Directory.CreateDirectory(path + ".d");
        // Renaming over a directory fails: the target stays as it was.
        Assert.ThrowsAny<IOException>(() => AtomicFile.WriteAllText(path + ".d", "new"));
        Assert.Equal("old", File.ReadAllText(path));
        Assert.DoesNotContain(Directory.GetFiles(_dir), f => f.EndsWith(".tmp", StringComparison.Ordinal));
    }

    [Fact]
    public void Reading_a_bad_file_is_one_sentence_of_bad_input()
    {
        string path = Path.Combine(_dir, "bad.json");
        File.WriteAllText(path, "{ not json");
        var e = Assert.Throws<HarnessException>(() => ResultReader.ReadDocument(path));
        Assert.Equal(ExitCodes.BadInput, e.ExitCode);
        Assert.Contains("bad.json", e.Message, StringComparison.Ordinal);
        Assert.Throws<HarnessException>(() => ResultReader.ReadDocument(Path.Combine(_dir, "missing.json")));
    }

    [Fact]
    public void Many_samples_are_thinned_with_a_stated_stride()
    {
        ResultDocument doc = ResultBuilder.Build(Runs.Fake(requests: 45_000, minDuration: TimeSpan.Zero), "fake", "onnx:cpu", Hardware());
        Assert.Equal(3, doc.Samples!.Stride);
        Assert.Equal(15_000, doc.Samples.LatencyMs.Length);
    }

    [Fact]
    public void Markdown_summary_names_the_verdict_and_failed_conditions()
    {
        ResultDocument doc = ResultBuilder.Build(Runs.Fake(fails: i => i == 20), "fake", "onnx:cpu", Hardware());
        string md = MarkdownSummary.Render(doc, "x.json");
        Assert.Contains("INVALID", md, StringComparison.Ordinal);
        Assert.Contains("error_rate", md, StringComparison.Ordinal);
        Assert.Contains("| latency |", md, StringComparison.Ordinal);
    }

    /// <summary>Under the header: the weights' quantization where the run has one, else a file's dequantized blocks.</summary>
    [Fact]
    public void Markdown_summary_says_how_the_weights_ran_under_its_header()
    {
        ResultDocument doc = ResultBuilder.Build(Runs.Fake(), "fake", "onnx:cpu", Hardware());
        Assert.DoesNotContain("Weights:", MarkdownSummary.Render(doc), StringComparison.Ordinal);
        doc.Config[Harness.Metrics.ConfigKeys.ModelDequantized] = "quantized tensors dequantized";
        Assert.Contains("\n\nWeights: quantized tensors dequantized.\n", MarkdownSummary.Render(doc), StringComparison.Ordinal);
        doc.Config[Harness.Metrics.ConfigKeys.WeightQuantization] = "int4, block 32";
        string md = MarkdownSummary.Render(doc);
        Assert.Contains("Weights: int4, block 32.", md, StringComparison.Ordinal);
        Assert.DoesNotContain("dequantized", md, StringComparison.Ordinal);
    }
}
