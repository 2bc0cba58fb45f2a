using System.Globalization;
using Harness.Agents.Jobs;
using Harness.Agents.Tools;
using Microsoft.ML.Tokenizers;

namespace Harness.Agents.Native.Tools;

/// <summary>
/// <c>tokenize</c>: byte-pair encoding of a slice of the corpus with a real vocabulary (cl100k_base,
/// GPT-4's, or gpt2) through Microsoft.ML.Tokenizers, as agents do to count and cut context.
/// </summary>
public sealed class TokenizeTool : AgentTool
{
    private readonly Dictionary<string, Lazy<Tokenizer>> _tokenizers = new(StringComparer.Ordinal)
    {
        ["cl100k"] = new(() => TiktokenTokenizer.CreateForModel("gpt-4")),
        ["gpt2"] = new(() => TiktokenTokenizer.CreateForModel("gpt2")),
    };

    public override string Name => "tokenize";

    public override string Description => "BPE tokenization (cl100k_base or gpt2 vocabulary, Microsoft.ML.Tokenizers) of a slice of the generated corpus.";

    public override IReadOnlyDictionary<string, string> Parameters { get; } = new Dictionary<string, string>
    {
        ["input_kb"] = "KiB of text tokenized (default 64, at most 8 MiB)",
    };

    public override IReadOnlyList<string> Variants => _tokenizers.Keys.ToList();

    public override ToolOutput Invoke(ToolCallPlan call, ToolContext context)
    {
        int chars = Arg(call, "input_kb", 64, 1, SyntheticCorpus.DefaultBytes / 1024) * 1024;
        string variant = call.Variant ?? "cl100k";
        Tokenizer tokenizer = _tokenizers[variant].Value;
        ReadOnlySpan<char> text = Environment.Corpus.Chars(call.Seed, chars);
        int total = 0;
        long checksum = 17;
        // Chunks of at most 16 KiB at line ends, so that cancellation is seen between them.
        while (!text.IsEmpty)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            int cut = text.Length <= 16_384 ? text.Length : text[..16_384].LastIndexOf('\n') + 1;
            if (cut <= 0)
            {
                cut = Math.Min(text.Length, 16_384);
            }

            IReadOnlyList<int> ids = tokenizer.EncodeToIds(text[..cut]);
            total += ids.Count;
            foreach (int id in ids)
            {
                checksum = unchecked((checksum * 31) + id);
            }

            text = text[cut..];
        }

        return new ToolOutput(string.Create(CultureInfo.InvariantCulture, $"{variant}: {total} tokens in {chars} characters ({(double)chars / Math.Max(1, total):0.00} chars/token), checksum {checksum & 0xFFFFFFFF:x8}"));
    }

    protected override void OnPrepare(ToolEnvironment environment)
    {
        foreach (string v in environment.Profile.Tools.Where(t => t.Tool == Name).SelectMany(t => t.Variants.Select(x => x.Key)).DefaultIfEmpty("cl100k"))
        {
            _ = _tokenizers[v].Value;
        }
    }
}
