using System.IO.Compression;
using System.Text.Json;
using Harness.Agents.Tools;

namespace Harness.Tests.Agents.Tools;

/// <summary>grep, json and compress give known outputs for a seed.</summary>
public class CoreToolsTests
{
    [Fact]
    public void The_corpus_is_fixed_by_its_seed()
    {
        var a = new SyntheticCorpus(42, 1 << 16);
        Assert.Equal(a.Text, new SyntheticCorpus(42, 1 << 16).Text);
        Assert.NotEqual(a.Text, new SyntheticCorpus(43, 1 << 16).Text);
        Assert.StartsWith("2026-03-01T00:00:00.033Z INFO  billing-19 id=f0fd83 latency_ms=529 status=retrying\n", new SyntheticCorpus(42, SyntheticCorpus.DefaultBytes).Text);
    }

    [Fact]
    public void Grep_finds_known_lines()
    {
        using var t = new PreparedTool(new GrepTool());
        string output = t.Call("errors", "corpus_kb=64 max_matches=3");
        Assert.Equal(
            "63 matching lines of 933 (errors)\n" +
            "16:2026-03-01T12:32:58.303Z WARN  api-13 id=4318db latency_ms=1699 status=refused\n" +
            "39:2026-03-01T12:33:21.030Z WARN  ingest-17 id=508b64 latency_ms=4523 status=timeout\n" +
            "53:2026-03-01T12:33:35.619Z WARN  api-15 id=5f8aab latency_ms=385 status=reset user=value.947@dev.invalid\n",
            output);
        Assert.Equal(output, t.Call("errors", "corpus_kb=64 max_matches=3"));
        Assert.NotEqual(output, t.Call("errors", "corpus_kb=64 max_matches=3", seed: 8));
    }

    [Fact]
    public void Grep_wraps_around_the_corpus_for_a_larger_repository()
    {
        using var t = new PreparedTool(new GrepTool());
        string[] once = t.Call("todo", "corpus_kb=8192 max_matches=0").Split(' ');
        string[] twice = t.Call("todo", "corpus_kb=16384 max_matches=0").Split(' ');
        Assert.Equal(2 * int.Parse(once[0], System.Globalization.CultureInfo.InvariantCulture), int.Parse(twice[0], System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(2 * int.Parse(once[4], System.Globalization.CultureInfo.InvariantCulture), int.Parse(twice[4], System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public void Json_validates_and_transforms_known_records()
    {
        using var t = new PreparedTool(new JsonTool());
        string output = t.Call(null, "records=50");
        using JsonDocument doc = JsonDocument.Parse(output);
        JsonElement r = doc.RootElement;
        Assert.Equal((50, 49, 1), (r.GetProperty("records").GetInt32(), r.GetProperty("valid").GetInt32(), r.GetProperty("invalid").GetInt32()));
        Assert.Equal("record 28 (id 1597)", r.GetProperty("first_violation").GetString());
        Assert.Equal(1164.14m, r.GetProperty("top_customers")[0].GetProperty("total").GetDecimal());
        Assert.Equal(49, r.GetProperty("by_category").EnumerateObject().Sum(c => c.Value.GetProperty("count").GetInt32()));
    }

    [Fact]
    public void Compress_reports_sizes_and_round_trips()
    {
        using var t = new PreparedTool(new CompressTool());
        Assert.Equal("gzip Optimal: 65536 -> 17326 bytes (ratio 3.78)", t.Call("gzip", "input_kb=64 level=1"));
        Assert.StartsWith("brotli SmallestSize: 65536 -> ", t.Call("brotli", "input_kb=64 level=2"));
        ReadOnlyMemory<byte> input = t.Environment.Corpus.Bytes(7, 65536);
        byte[] packed = CompressTool.Compress(input.Span, "brotli", CompressionLevel.Fastest);
        using var back = new MemoryStream();
        using (var b = new BrotliStream(new MemoryStream(packed), CompressionMode.Decompress))
        {
            b.CopyTo(back);
        }

        Assert.Equal(input.ToArray(), back.ToArray());
    }

    [Fact]
    public void Cooperative_tools_stop_at_their_timeout()
    {
        using var t = new PreparedTool(new GrepTool());
        ToolResult r = ToolRunner.Run(t.Tool, t.Plan("emails", "corpus_kb=8192"), 0, TimeSpan.FromMilliseconds(1), Harness.Measurement.StopwatchClock.Instance, CancellationToken.None);
        Assert.Equal(ToolOutcome.Timeout, r.Outcome);
        Assert.Contains("timeout", r.Reason);
    }
}
