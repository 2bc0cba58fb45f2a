using Harness.Backends;
using Harness.Decoding;
using Harness.Decoding.Sampling;
using Harness.Onnx.Decoder;
using Microsoft.ML.OnnxRuntime;
using static Harness.Onnx.Decoder.OnnxAttr;

namespace Harness.Onnx.Sampling;

/// <summary>Names of the sampler graph's inputs and outputs.</summary>
internal static class SamplerIo
{
    /// <summary>float [rows, vocab]: the decoder's logits, wherever they are.</summary>
    public const string Logits = "logits";

    /// <summary>float [rows] each: 0 temperature is greedy.</summary>
    public const string Temperature = "row_temperature";

    /// <summary>int64 [rows]: 0 keeps all.</summary>
    public const string TopK = "top_k";

    public const string TopP = "top_p";

    public const string MinP = "min_p";

    public const string Repetition = "repetition_penalty";

    public const string Presence = "presence_penalty";

    public const string Frequency = "frequency_penalty";

    /// <summary>float [rows]: each row's uniform draw in [0, 1).</summary>
    public const string Uniform = "uniform";

    /// <summary>int64 [rows, h]: the prompt's and the output's token ids, padded with 0.</summary>
    public const string History = "history";

    /// <summary>float [rows, h]: 1 where <see cref="History"/> holds an output token (they are counted), else 0.</summary>
    public const string HistoryOutput = "history_output";

    /// <summary>float [rows, h]: 1 where <see cref="History"/> holds a token (prompt or output), 0 for padding.</summary>
    public const string HistorySeen = "history_seen";

    /// <summary>int64 [1]: top log-probabilities returned per row (at least 1).</summary>
    public const string TopN = "top_n";

    /// <summary>int64 [rows]: the tokens.</summary>
    public const string Token = "token";

    /// <summary>float [rows]: the tokens' raw log-probabilities.</summary>
    public const string Logprob = "logprob";

    /// <summary>int64 [rows, top_n] and float [rows, top_n]: the most likely tokens and theirs.</summary>
    public const string TopIds = "top_ids";

    public const string TopLogprobs = "top_logprobs";
}

/// <summary>
/// The sampler of <see cref="LogitSampler"/> as an ONNX graph, so that it runs where the logits are
/// (the CUDA provider's kernels on CUDA): penalties from a scatter of the history's ids, temperature,
/// one sort of the vocabulary (TopK), top-k, top-p and min-p as masks over the sorted row, the token
/// by inverse CDF at each row's draw, and the raw log-softmax for log-probabilities. Standard ONNX
/// ops at <see cref="GraphBuilder.OnnxOpset"/>; only the tokens and the asked log-probabilities leave the device.
/// </summary>
internal static class SamplerGraph
{
    public static byte[] Write()
    {
        using var g = new GraphBuilder(TensorDType.Float32, null);
        const OnnxType F = OnnxType.Float, I = OnnxType.Int64;
        g.Input(SamplerIo.Logits, F, "rows", "vocab");
        foreach (string name in new[] { SamplerIo.Temperature, SamplerIo.TopP, SamplerIo.MinP, SamplerIo.Repetition,
            SamplerIo.Presence, SamplerIo.Frequency, SamplerIo.Uniform })
        {
            g.Input(name, F, "rows");
        }

        g.Input(SamplerIo.TopK, I, "rows");
        g.Input(SamplerIo.History, I, "rows", "history");
        g.Input(SamplerIo.HistoryOutput, F, "rows", "history");
        g.Input(SamplerIo.HistorySeen, F, "rows", "history");
        g.Input(SamplerIo.TopN, I, 1);

        string axis1 = g.ConstI64([1], 1);
        string Col(string rowsVector) => g.Node("Unsqueeze", [rowsVector, axis1]);
        string Scalar(float v) => g.ConstF(g.Fresh("f"), [v]);
        string ToFloat(string x) => g.Node("Cast", [x], attrs: new Int("to", (int)OnnxType.Float));
        string ToLong(string x) => g.Node("Cast", [x], attrs: new Int("to", (int)OnnxType.Int64));
        string SumRow(string x) => g.Node("ReduceSum", [x, axis1], attrs: new Int("keepdims", 1));
        string logits = SamplerIo.Logits;

        // Penalties: counts of the output's tokens, and which tokens were seen at all.
        string zeros = g.Node("Mul", [logits, Scalar(0)]);
        var add = new Str("reduction", "add");
        string counts = g.Node("ScatterElements", [zeros, SamplerIo.History, SamplerIo.HistoryOutput], attrs: [new Int("axis", 1), add]);
        string seenSum = g.Node("ScatterElements", [zeros, SamplerIo.History, SamplerIo.HistorySeen], attrs: [new Int("axis", 1), add]);
        string seen = g.Node("Greater", [seenSum, Scalar(0)]);
        string rep = Col(SamplerIo.Repetition);
        string positive = g.Node("Greater", [logits, Scalar(0)]);
        string repeated = g.Node("Where", [positive, g.Node("Div", [logits, rep]), g.Node("Mul", [logits, rep])]);
        string l = g.Node("Where", [seen, repeated, logits]);
        l = g.Node("Sub", [l, g.Node("Mul", [counts, Col(SamplerIo.Frequency)])]);
        l = g.Node("Sub", [l, g.Node("Mul", [ToFloat(g.Node("Greater", [counts, Scalar(0)])), Col(SamplerIo.Presence)])]);
        string greedy = g.Node("ArgMax", [l], attrs: [new Int("axis", 1), new Int("keepdims", 0)]);

        // Temperature, then the row sorted from the most likely token down.
        string isGreedy = g.Node("Equal", [SamplerIo.Temperature, Scalar(0)]);
        string t = Col(g.Node("Where", [isGreedy, Scalar(1), SamplerIo.Temperature]));
        string scaled = g.Node("Div", [l, t]);
        string vocab = g.Node("Gather", [g.Node("Shape", [logits]), axis1]);
        string[] sort = g.Nodes("TopK", [scaled, vocab], [g.Fresh("sorted"), g.Fresh("order")],
            attrs: [new Int("axis", 1), new Int("largest", 1), new Int("sorted", 1)]);
        string first = g.Node("Slice", [sort[0], g.ConstI64([0], 1), g.ConstI64([1], 1), axis1]);
        string e = g.Node("Exp", [g.Node("Sub", [sort[0], first])]);

        // top-k, top-p (over the top-k, renormalized) and min-p: each keeps a prefix of the sorted row.
        string rank = g.Node("Range", [g.ConstI64([0]), g.Node("Squeeze", [vocab, g.ConstI64([0], 1)]), g.ConstI64([1])]);
        string k = g.Node("Where", [g.Node("Equal", [SamplerIo.TopK, g.ConstI64([0])]), vocab, SamplerIo.TopK]);
        string keepK = g.Node("Less", [rank, Col(k)]);
        string eK = g.Node("Where", [keepK, e, Scalar(0)]);
        string before = g.Node("Sub", [g.Node("CumSum", [eK, g.ConstI64([1])]), eK]);
        string p = g.Node("Where", [g.Node("GreaterOrEqual", [SamplerIo.TopP, Scalar(1)]), Scalar(2), SamplerIo.TopP]);
        string keepP = g.Node("Less", [before, g.Node("Mul", [Col(p), SumRow(eK)])]);
        string keepMin = g.Node("GreaterOrEqual", [e, Col(SamplerIo.MinP)]);
        string keep = g.Node("And", [g.Node("And", [keepK, keepP]), keepMin]);

        // The token: inverse CDF of the kept weights at the row's draw.
        string w = g.Node("Where", [keep, e, Scalar(0)]);
        string target = g.Node("Mul", [Col(SamplerIo.Uniform), SumRow(w)]);
        string at = SumRow(ToLong(g.Node("LessOrEqual", [g.Node("CumSum", [w, g.ConstI64([1])]), target])));
        at = g.Node("Min", [at, g.Node("Sub", [SumRow(ToLong(keep)), g.ConstI64([1])])]);
        string sampled = g.Node("Squeeze", [g.Node("GatherElements", [sort[1], at], attrs: new Int("axis", 1)), axis1]);
        g.Node("Where", [isGreedy, greedy, sampled], SamplerIo.Token);

        // Log-probabilities: the raw logits' log-softmax.
        string logsm = g.Node("LogSoftmax", [logits], attrs: new Int("axis", 1));
        string chosen = g.Node("GatherElements", [logsm, Col(SamplerIo.Token)], attrs: new Int("axis", 1));
        g.Node("Squeeze", [chosen, axis1], SamplerIo.Logprob);
        g.Nodes("TopK", [logsm, SamplerIo.TopN], [SamplerIo.TopLogprobs, SamplerIo.TopIds],
            attrs: [new Int("axis", 1), new Int("largest", 1), new Int("sorted", 1)]);

        g.Output(SamplerIo.Token, I, "rows");
        g.Output(SamplerIo.Logprob, F, "rows");
        g.Output(SamplerIo.TopIds, I, "rows", "top_n");
        g.Output(SamplerIo.TopLogprobs, F, "rows", "top_n");
        return g.Build("sampler", "token sampler (penalties, temperature, top-k, top-p, min-p, inverse CDF); generated by harness");
    }
}

/// <summary>
/// Samples a pass's rows with <see cref="SamplerGraph"/> in its own session, on the decoder's
/// execution provider: the logits go in as the decoder left them (an <see cref="OrtValue"/> on the
/// device), the per-row parameters, draws and history ids go in from the host (a few numbers a
/// row), and only tokens and log-probabilities come back. Gives <see cref="LogitSampler"/>'s tokens
/// for the same draws (up to float rounding at a draw's boundary).
/// </summary>
public sealed class OnnxSampler : IDisposable
{
    private static readonly string[] OutputNames = [SamplerIo.Token, SamplerIo.Logprob, SamplerIo.TopIds, SamplerIo.TopLogprobs];

    private static readonly string[] InputNames =
    [
        SamplerIo.Logits, SamplerIo.Temperature, SamplerIo.TopK, SamplerIo.TopP, SamplerIo.MinP, SamplerIo.Repetition,
        SamplerIo.Presence, SamplerIo.Frequency, SamplerIo.Uniform, SamplerIo.History, SamplerIo.HistoryOutput,
        SamplerIo.HistorySeen, SamplerIo.TopN,
    ];

    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();
    private readonly float[][] _params;
    private readonly long[] _topK;
    private readonly long[] _topN = new long[1];
    private readonly OrtValue[] _inputs = new OrtValue[InputNames.Length];
    private long[] _history = [];
    private float[] _historyOutput = [];
    private float[] _historySeen = [];

    public OnnxSampler(int vocab, int maxRows, BackendSpec backend, WorkloadOptions options)
    {
        Vocab = vocab;
        _session = OnnxSessionFactory.Create(SamplerGraph.Write(), "sampler", backend, options);
        _params = [.. Enumerable.Range(0, 7).Select(_ => new float[maxRows])];
        _topK = new long[maxRows];
    }

    public int Vocab { get; }

    /// <summary>
    /// Samples rows 0 to <see cref="StepRows.Count"/> - 1 of the pass from <paramref name="logits"/>
    /// (float [rows, vocab], on any device): writes <see cref="StepRows.Next"/> and, where asked,
    /// <see cref="StepRows.Logprobs"/>.
    /// </summary>
    public void Sample(OrtValue logits, StepRows rows)
    {
        Sample(logits, rows.Sequences, rows.Next, rows.Logprobs);
    }

    /// <summary>
    /// Samples row i of <paramref name="logits"/> for <paramref name="rows"/>[i] into <paramref name="next"/>[i]
    /// and <paramref name="logprobs"/>[i].
    /// </summary>
    public void Sample(OrtValue logits, ReadOnlySpan<DecodeSequence> rows, Span<long> next, Span<TokenLogprobs?> logprobs)
    {
        int n = rows.Length;
        int history = 1, topN = 1;
        for (int i = 0; i < n; i++)
        {
            DecodeSequence s = rows[i];
            SamplingParams p = s.Sampling;
            _params[0][i] = (float)p.Temperature;
            _params[1][i] = (float)p.TopP;
            _params[2][i] = (float)p.MinP;
            _params[3][i] = (float)p.RepetitionPenalty;
            _params[4][i] = (float)p.PresencePenalty;
            _params[5][i] = (float)p.FrequencyPenalty;
            _params[6][i] = (float)s.NextUniform();
            _topK[i] = p.TopK;
            topN = Math.Max(topN, Math.Min(p.TopLogprobs, Vocab));
            if (p.NeedsHistory)
            {
                history = Math.Max(history, s.PromptIds.Length + s.Generated.Length);
            }
        }

        FillHistory(rows, history);
        _topN[0] = topN;
        long[] row = [n];
        var cpu = OrtMemoryInfo.DefaultInstance;
        try
        {
            _inputs[0] = logits;
            _inputs[1] = OrtValue.CreateTensorValueFromMemory(cpu, _params[0].AsMemory(0, n), row);
            _inputs[2] = OrtValue.CreateTensorValueFromMemory(cpu, _topK.AsMemory(0, n), row);
            for (int j = 1; j < 6; j++)
            {
                _inputs[2 + j] = OrtValue.CreateTensorValueFromMemory(cpu, _params[j].AsMemory(0, n), row);
            }

            _inputs[8] = OrtValue.CreateTensorValueFromMemory(cpu, _params[6].AsMemory(0, n), row);
            long[] hist = [n, history];
            _inputs[9] = OrtValue.CreateTensorValueFromMemory(cpu, _history.AsMemory(0, n * history), hist);
            _inputs[10] = OrtValue.CreateTensorValueFromMemory(cpu, _historyOutput.AsMemory(0, n * history), hist);
            _inputs[11] = OrtValue.CreateTensorValueFromMemory(cpu, _historySeen.AsMemory(0, n * history), hist);
            _inputs[12] = OrtValue.CreateTensorValueFromMemory(cpu, _topN.AsMemory(), [1]);
            using IDisposableReadOnlyCollection<OrtValue> outputs = _session.Run(_runOptions, InputNames, _inputs, OutputNames);
            ReadOnlySpan<long> tokens = outputs[0].GetTensorDataAsSpan<long>();
            ReadOnlySpan<float> chosen = outputs[1].GetTensorDataAsSpan<float>();
            ReadOnlySpan<long> topIds = outputs[2].GetTensorDataAsSpan<long>();
            ReadOnlySpan<float> topValues = outputs[3].GetTensorDataAsSpan<float>();
            for (int i = 0; i < n; i++)
            {
                next[i] = tokens[i];
                SamplingParams p = rows[i].Sampling;
                if (p.Logprobs || p.TopLogprobs > 0)
                {
                    var top = new (long Token, float Logprob)[Math.Min(p.TopLogprobs, Vocab)];
                    for (int j = 0; j < top.Length; j++)
                    {
                        top[j] = (topIds[(i * topN) + j], topValues[(i * topN) + j]);
                    }

                    logprobs[i] = new TokenLogprobs(tokens[i], chosen[i], top);
                }
            }
        }
        finally
        {
            for (int j = 1; j < _inputs.Length; j++)
            {
                _inputs[j]?.Dispose();
                _inputs[j] = null!;
            }
        }
    }

    public void Dispose()
    {
        _runOptions.Dispose();
        _session.Dispose();
    }

    /// <summary>Each row's prompt and output ids (rows whose penalties need them), padded to <paramref name="width"/>.</summary>
    private void FillHistory(ReadOnlySpan<DecodeSequence> rows, int width)
    {
        int size = rows.Length * width;
        if (_history.Length < size)
        {
            _history = new long[size];
            _historyOutput = new float[size];
            _historySeen = new float[size];
        }

        Array.Clear(_history, 0, size);
        Array.Clear(_historyOutput, 0, size);
        Array.Clear(_historySeen, 0, size);
        for (int i = 0; i < rows.Length; i++)
        {
            DecodeSequence s = rows[i];
            if (!s.Sampling.NeedsHistory)
            {
                continue;
            }

            int at = i * width;
            ReadOnlySpan<long> prompt = s.Sampling.RepetitionPenalty != 1 ? s.PromptIds.Span : default;
            prompt.CopyTo(_history.AsSpan(at));
            _historySeen.AsSpan(at, prompt.Length).Fill(1);
            at += prompt.Length;
            s.Generated.CopyTo(_history.AsSpan(at));
            _historySeen.AsSpan(at, s.Generated.Length).Fill(1);
            _historyOutput.AsSpan(at, s.Generated.Length).Fill(1);
        }
    }
}
