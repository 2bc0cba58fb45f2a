using System.Globalization;
using System.Text;
using Harness.Agents.Jobs;
using Harness.Agents.Tools;
using Harness.Backends;
using Harness.Engine;
using Harness.Onnx.Workloads;

namespace Harness.Agents.Native.Tools;

/// <summary>
/// <c>embed</c>: the retrieval step of a RAG agent. Embeds <c>sentences</c> texts with
/// all-MiniLM-L6-v2 through ONNX Runtime on the CPU, by calling the harness's own MiniLM workload
/// (one intra-op thread, so one call uses one core), and returns <c>top_k</c> passages of the corpus
/// as the retrieved text. The embedding work is real; which passages come back is fixed by the seed.
/// </summary>
public sealed class EmbedTool : AgentTool
{
    /// <summary>Sentences per ONNX Runtime call: the MiniLM workload's batch.</summary>
    public const int Batch = 8;

    private MiniLmWorkload? _model;
    private WorkloadDescription? _description;
    private RequestContext[] _contexts = [];
    private object[] _locks = [];

    public override string Name => "embed";

    public override string Description => "MiniLM (all-MiniLM-L6-v2) sentence embeddings through ONNX Runtime on one CPU core; returns top_k passages as retrieved text.";

    public override IReadOnlyDictionary<string, string> Parameters { get; } = new Dictionary<string, string>
    {
        ["sentences"] = "texts embedded (default 32, rounded up to batches of 8, at most 4096)",
        ["top_k"] = "passages returned (default 5, at most 50)",
        ["passage_chars"] = "characters per returned passage (default 400)",
    };

    public override ToolOutput Invoke(ToolCallPlan call, ToolContext context)
    {
        int sentences = Arg(call, "sentences", 32, 1, 4096);
        int topK = Arg(call, "top_k", 5, 0, 50);
        int chars = Arg(call, "passage_chars", 400, 16, 8192);
        int requests = (sentences + Batch - 1) / Batch;
        int slot = context.Worker % _contexts.Length;
        if (!Monitor.TryEnter(_locks[slot], TimeSpan.FromSeconds(1)))
        {
            throw new ToolFailedException("the worker's ONNX Runtime binding is held by an abandoned call");
        }

        try
        {
            RequestContext ctx = _contexts[slot];
            for (int i = 0; i < requests; i++)
            {
                context.CancellationToken.ThrowIfCancellationRequested();
                ctx.BeginDetached(call.Seed + (long)i * Batch, _description!, context.CancellationToken);
                _model!.Execute(ctx);
            }
        }
        finally
        {
            Monitor.Exit(_locks[slot]);
        }

        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"embedded {sentences} texts in {requests} batches of {Batch} (384 dimensions); top {topK} passages:\n");
        for (int k = 0; k < topK; k++)
        {
            sb.Append(CultureInfo.InvariantCulture, $"[{k + 1}] ").Append(Environment.Corpus.Chars(call.Seed + k + 1, chars)).Append('\n');
        }

        return new ToolOutput(sb.ToString());
    }

    protected override void OnPrepare(ToolEnvironment environment)
    {
        int workers = Math.Max(1, environment.Workers);
        _model = new MiniLmWorkload(BackendSpec.Parse("onnx:cpu"), new WorkloadOptions { Threads = 1, InterOpThreads = 1 });
        _description = _model.Prepare(new WorkloadContext(Batch, workers, environment.Seed, CancellationToken.None));
        _contexts = Enumerable.Range(0, workers).Select(RequestContext.Detached).ToArray();
        _locks = Enumerable.Range(0, workers).Select(_ => new object()).ToArray();
    }

    protected override void Dispose(bool disposing)
    {
        _model?.Dispose();
        _model = null;
        base.Dispose(disposing);
    }
}
