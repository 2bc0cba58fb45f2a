using Harness.Tokenization;

namespace Harness.Datasets;

/// <summary>A model's tokenizer (<see cref="TextTokenizer"/>: byte-level or SentencePiece BPE) counting a dataset's tokens.</summary>
public sealed class TokenizerCounter(TextTokenizer tokenizer, string name) : ITokenCounter
{
    public TextTokenizer Tokenizer { get; } = tokenizer;

    public string Name { get; } = name;

    public int Count(string text) => text.Length == 0 ? 0 : Tokenizer.Count(text);

    public int PrefixLength(string text, int tokens) => Tokenizer.PrefixLength(text, tokens);
}
