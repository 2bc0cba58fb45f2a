namespace Harness.Tokenization;

/// <summary>
/// The regexes byte-level BPEs split text with before merging (their pre-tokenizer), by the names
/// GGUF's <c>tokenizer.ggml.pre</c> gives them (llama.cpp's llama-vocab.cpp has the same table).
/// </summary>
public static class SplitPatterns
{
    /// <summary>GPT-2's (the ByteLevel pre-tokenizer's use_regex).</summary>
    public const string Gpt2 = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    /// <summary>Llama 3's: numbers in groups of up to three digits, a letter run may take one leading non-letter.</summary>
    public const string Llama3 =
        @"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
        + @"|\s*[\r\n]+|\s+(?!\S)|\s+";

    /// <summary>Qwen2's: Llama 3's with each digit on its own.</summary>
    public const string Qwen2 =
        @"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
        + @"|\s*[\r\n]+|\s+(?!\S)|\s+";

    /// <summary>The names read, for a message.</summary>
    public const string Known = "gpt-2, default, llama-bpe, llama3, llama-v3, smaug-bpe, qwen2, deepseek-r1-qwen";

    /// <summary>The split of a GGUF <c>tokenizer.ggml.pre</c> name (null or empty: GPT-2's, as llama.cpp's default); null when
    /// the name is not one the harness knows.</summary>
    public static string? ForGgufName(string? name) => name switch
    {
        null or "" or "gpt-2" or "default" => Gpt2,
        "llama-bpe" or "llama3" or "llama-v3" or "smaug-bpe" => Llama3,
        "qwen2" or "deepseek-r1-qwen" => Qwen2,
        _ => null,
    };
}
