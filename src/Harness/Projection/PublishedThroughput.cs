using System.Text.Json;
using System.Text.Json.Serialization;
using Harness.Backends;
using Harness.Hardware.Catalog;
using Harness.Models;

namespace Harness.Projection;

/// <summary>
/// One published throughput figure (a vendor's table: model, card, precision, TP, input and output
/// lengths, output tokens/s per GPU) as the input of a projection: a file of
/// <c>"kind": "published_throughput"</c>. Such a figure fixes one number, the time of a request at
/// the benchmark's batch; the latencies a projection calibrates on are derived from it by a stated
/// rule (<see cref="Facts"/>), and the projection says so.
/// </summary>
public sealed record PublishedThroughput
{
    public const string Kind = "published_throughput";

    /// <summary>Where the figure was published, pinned: repository, file and commit, or a dated page; and which cell.</summary>
    public required string Source { get; init; }

    /// <summary>The card it was measured on (catalog id or alias).</summary>
    public required string Card { get; init; }

    /// <summary>A models/ config name or path.</summary>
    public required string Model { get; init; }

    public required string Dtype { get; init; }

    public string? KvDtype { get; init; }

    public int Tp { get; init; } = 1;

    public required int PromptTokens { get; init; }

    public required int NewTokens { get; init; }

    public required double OutputTokensPerSPerGpu { get; init; }

    /// <summary>Sequences in flight; null: the largest whose KV cache fits (how trtllm-bench sizes its batch).</summary>
    public int? Batch { get; init; }

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        ReadCommentHandling = JsonCommentHandling.Skip,
    };

    /// <summary>Whether a JSON document is a published figure rather than a result.</summary>
    public static bool IsPublished(JsonElement root) =>
        root.ValueKind == JsonValueKind.Object && root.TryGetProperty("kind", out JsonElement k) && k.ValueKind == JsonValueKind.String && k.GetString() == Kind;

    public static PublishedThroughput Parse(string json, string origin)
    {
        PublishedThroughput? p;
        try
        {
            using JsonDocument doc = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip });
            var fields = doc.RootElement.EnumerateObject().Where(x => x.Name != "kind").ToDictionary(x => x.Name, x => x.Value.Clone());
            p = JsonSerializer.Deserialize<PublishedThroughput>(JsonSerializer.Serialize(fields), JsonOptions);
        }
        catch (JsonException e)
        {
            throw HarnessException.BadInput($"Published figure {origin} is not valid: {e.Message}", e);
        }

        if (p is null || p.Tp < 1 || p.PromptTokens < 1 || p.NewTokens < 2 || !(p.OutputTokensPerSPerGpu > 0) || p.Batch is < 1 || string.IsNullOrWhiteSpace(p.Source))
        {
            throw HarnessException.BadInput($"Published figure {origin} needs a source, tp >= 1, prompt_tokens >= 1, new_tokens >= 2, a positive output_tokens_per_s_per_gpu and, if given, batch >= 1.");
        }

        return p;
    }

    /// <summary>
    /// The run this figure stands for. Request time T = batch x new tokens / (tokens/s per GPU x TP).
    /// With P and D the prefill and decode-step roofline work on the card (datasheet peaks) and the
    /// all-reduces taken off T, prefill runs at r times decode's fraction of its roofline:
    /// decode fraction = (P / r + (new - 1) D) / T, TTFT = P / (r x fraction), TPOT = D / fraction.
    /// r = 1 is the value; r = 2 and r = 1/2 are the ends of the median's interval, which the
    /// projection takes in pairs (the request time is fixed).
    /// </summary>
    public LlmRunFacts Facts(HardwareSpec card, string origin, ProjectionPriors? priors = null)
    {
        ProjectionPriors p = priors ?? ProjectionPriors.Default;
        DecoderConfig model = ModelCatalog.Load(Model);
        var seed = new LlmRunFacts
        {
            Origin = origin,
            Workload = "published",
            ModelName = model.Name,
            GpuName = null,
            TensorParallel = Tp,
            Dtype = Dtype,
            KvDtype = KvDtype,
            Model = model,
            Batch = Batch ?? 1,
            PromptTokens = PromptTokens,
            NewTokens = NewTokens,
            Params = new DecoderCost(model).ParameterCount,
            Shape = ModelShape.Of(model),
            Ttft = LatencyFacts.Constant(1),
            Tpot = LatencyFacts.Constant(1),
            Published = $"{OutputTokensPerSPerGpu:#,0.##} output tokens/s per GPU, {model.Name} {Dtype} on {card.Id} TP {Tp}, {PromptTokens}/{NewTokens} tokens: {Source}",
        };
        var work = new LlmWorkModel(seed);
        if (!RooflineProjector.Memory(work, card, 1, Tp, p).Fits)
        {
            throw HarnessException.BadInput($"Published figure {origin}: {model.Name} in {work.Precision} does not fit {card.Id} at TP {Tp} in this model's memory terms.");
        }

        int batch = Batch ?? RooflineProjector.LargestBatch(work, card, Tp, p);
        string dtype = work.Precision.ComputeDtypeOn(card);
        double compute = card.PeakFlops(dtype) ?? card.MeasuredFlops(dtype)
            ?? throw HarnessException.BadInput($"Published figure {origin}: the catalog has no {dtype} rate for {card.Id}.");
        double bandwidth = card.PeakBandwidth ?? card.MeasuredBandwidth
            ?? throw HarnessException.BadInput($"Published figure {origin}: the catalog has no memory bandwidth for {card.Id}.");
        double prefill = Math.Max(work.PrefillFlops(batch) / (Tp * compute), work.PrefillBytes(batch) / (Tp * bandwidth));
        double decode = Math.Max(work.DecodeFlops(batch) / (Tp * compute), work.DecodeBytes(batch) / (Tp * bandwidth));
        double prefillComm = RooflineProjector.AllReduce(card, Tp, batch * (double)PromptTokens, work.Shape, p);
        double decodeComm = RooflineProjector.AllReduce(card, Tp, batch, work.Shape, p);
        double request = batch * (double)NewTokens / (OutputTokensPerSPerGpu * Tp);
        double gpu = request - prefillComm - (NewTokens - 1) * decodeComm;
        if (!(gpu > 0))
        {
            throw HarnessException.BadInput($"Published figure {origin}: {OutputTokensPerSPerGpu} tokens/s per GPU leaves no time beside the all-reduces at batch {batch}.");
        }

        (double Ttft, double Tpot) Split(double r)
        {
            double fraction = (prefill / r + (NewTokens - 1) * decode) / gpu;
            return ((prefill / (r * fraction) + prefillComm) * 1000, (decode / fraction + decodeComm) * 1000);
        }

        (double ttft, double tpot) = Split(1);
        (double ttftFast, double tpotSlow) = Split(2);
        (double ttftSlow, double tpotFast) = Split(0.5);
        return seed with
        {
            Batch = batch,
            Ttft = new LatencyFacts(ttft, ttft, ttft, ttft, ttft, ttftFast, ttftSlow),
            Tpot = new LatencyFacts(tpot, tpot, tpot, tpot, tpot, tpotFast, tpotSlow),
            OutputTokensPerS = OutputTokensPerSPerGpu * Tp,
        };
    }
}

/// <summary>Reads the input of a projection or plan: a result file of an LLM run, or a published throughput figure.</summary>
public static class LlmRunInput
{
    public static (LlmRunFacts Facts, HardwareSpec Source) Read(string path, HardwareCatalog catalog, string? from, ProjectionPriors? priors = null)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (IOException e)
        {
            throw HarnessException.BadInput($"Cannot read {path}: {e.Message}", e);
        }

        bool published;
        try
        {
            using JsonDocument doc = JsonDocument.Parse(text, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip });
            published = PublishedThroughput.IsPublished(doc.RootElement);
        }
        catch (JsonException)
        {
            published = false; // the result reader says what is wrong with it
        }

        if (published)
        {
            PublishedThroughput figure = PublishedThroughput.Parse(text, path);
            HardwareSpec card = catalog.Get(from ?? figure.Card);
            return (figure.Facts(card, path, priors), card);
        }

        Results.ResultDocument result = Results.ResultReader.ReadDocument(path);
        return (LlmResultReader.Read(result, path), catalog.ForRun(result.Hardware, from, path));
    }
}
