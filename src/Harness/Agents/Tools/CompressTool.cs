using System.Globalization;
using System.IO.Compression;
using Harness.Agents.Jobs;

namespace Harness.Agents.Tools;

/// <summary><c>compress</c>: gzip or Brotli of a slice of the corpus at a chosen level; returns the sizes.</summary>
public sealed class CompressTool : AgentTool
{
    public override string Name => "compress";

    public override string Description => "gzip or Brotli compression of a slice of the generated corpus (variant gzip or brotli).";

    public override IReadOnlyDictionary<string, string> Parameters { get; } = new Dictionary<string, string>
    {
        ["input_kb"] = "KiB compressed (default 512, at most 8 MiB)",
        ["level"] = "0 fastest, 1 optimal, 2 smallest (default 1)",
    };

    public override IReadOnlyList<string> Variants { get; } = ["gzip", "brotli"];

    public static byte[] Compress(ReadOnlySpan<byte> input, string codec, CompressionLevel level)
    {
        using var output = new MemoryStream(input.Length / 2);
        using (Stream s = codec == "brotli" ? new BrotliStream(output, level, leaveOpen: true) : new GZipStream(output, level, leaveOpen: true))
        {
            s.Write(input);
        }

        return output.ToArray();
    }

    public override ToolOutput Invoke(ToolCallPlan call, ToolContext context)
    {
        int bytes = Arg(call, "input_kb", 512, 1, SyntheticCorpus.DefaultBytes / 1024) * 1024;
        CompressionLevel level = Arg(call, "level", 1, 0, 2) switch
        {
            0 => CompressionLevel.Fastest,
            2 => CompressionLevel.SmallestSize,
            _ => CompressionLevel.Optimal,
        };
        string codec = call.Variant ?? "gzip";
        ReadOnlyMemory<byte> input = Environment.Corpus.Bytes(call.Seed, bytes);
        context.CancellationToken.ThrowIfCancellationRequested();
        byte[] packed = Compress(input.Span, codec, level);
        return new ToolOutput(string.Create(CultureInfo.InvariantCulture,
            $"{codec} {level}: {input.Length} -> {packed.Length} bytes (ratio {(double)input.Length / packed.Length:0.00})"));
    }
}
