namespace Harness.Tokenization;

/// <summary>
/// How a tokenizer's ids become a model's ids and back, for a model of any vocabulary size V (the
/// harness's models have seeded weights and no tokenizer of their own). Deterministic and documented
/// (docs/serving.md): a tokenizer id t becomes t when t &lt; V, else t mod V; a model id m becomes
/// text through the tokenizer id m when m &lt; N (the tokenizer's size), else m mod N. With GPT-2's
/// tokenizer and a vocabulary of 50,257 (gpt2-124m) both maps are the identity; a larger vocabulary
/// (Llama's 128,256) keeps every tokenizer id and wraps the model ids above it; a smaller one (the
/// tiny test models) folds tokenizer ids onto its range.
/// </summary>
public sealed class VocabularyMap
{
    public VocabularyMap(TextTokenizer tokenizer, int modelVocabulary)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(modelVocabulary, 1);
        Tokenizer = tokenizer;
        ModelVocabulary = modelVocabulary;
        EndOfText = ToModel(tokenizer.EndOfText);
    }

    public TextTokenizer Tokenizer { get; }

    public int ModelVocabulary { get; }

    /// <summary>The model id that ends a text (the tokenizer's <c>&lt;|endoftext|&gt;</c>, mapped).</summary>
    public long EndOfText { get; }

    public long ToModel(int tokenizerId) => tokenizerId < ModelVocabulary ? tokenizerId : tokenizerId % ModelVocabulary;

    public int ToTokenizer(long modelId) => (int)(modelId < Tokenizer.VocabularySize ? modelId : modelId % Tokenizer.VocabularySize);

    /// <summary>A prompt's text into model ids (after the tokenizer's begin-of-text id where it adds one).</summary>
    public long[] Encode(string text)
    {
        IReadOnlyList<int> ids = Tokenizer.EncodePrompt(text);
        var model = new long[ids.Count];
        for (int i = 0; i < model.Length; i++)
        {
            model[i] = ToModel(ids[i]);
        }

        return model;
    }

    /// <summary>Model ids into text (whole; <see cref="TextStream"/> does it token by token).</summary>
    public string Decode(IEnumerable<long> modelIds) => Tokenizer.Decode(modelIds.Select(ToTokenizer));
}
