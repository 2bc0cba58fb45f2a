using Harness.Agents.Jobs;
using Harness.Agents.Profiles;

namespace Harness.Agents.Tools;

/// <summary>
/// A real CPU tool an agent calls: it does real work sized by the call's arguments and returns the
/// text the agent reads. Deterministic: the same call (tool, variant, arguments, seed) gives the same
/// output. Called from several tool workers at once; <see cref="ToolContext.Worker"/> indexes
/// per-worker buffers. Long work observes <see cref="ToolContext.CancellationToken"/> (the timeout).
/// </summary>
public interface IAgentTool : IDisposable
{
    string Name { get; }

    /// <summary>One sentence for <c>harness list</c> and the docs.</summary>
    string Description { get; }

    /// <summary>Size arguments a profile may set, with their meaning.</summary>
    IReadOnlyDictionary<string, string> Parameters { get; }

    /// <summary>Checks a profile's entry for this tool (arguments, variants); throws <see cref="HarnessException"/> with one sentence.</summary>
    void Validate(ToolMixEntry entry, AgentProfile profile);

    /// <summary>Builds data, models and files before the run. Not timed.</summary>
    void Prepare(ToolEnvironment environment);

    /// <summary>Runs one call. Throwing marks the call failed with the exception's message as its reason.</summary>
    ToolOutput Invoke(ToolCallPlan call, ToolContext context);
}

/// <summary>Where a tool call runs: its worker slot and its cancellation (timeout or end of run).</summary>
public readonly record struct ToolContext(int Worker, CancellationToken CancellationToken);

/// <summary>What a tool call returns: the text that joins the agent's context (truncated by the profile's limit).</summary>
public sealed record ToolOutput(string Text)
{
    /// <summary>CPU time of the subprocesses the call ran (their own clocks: the worker thread only waits on them).</summary>
    public TimeSpan SubprocessCpu { get; init; }

    /// <summary>Tokens the text adds to the context, at the usual 4 characters per token of English and code.</summary>
    public int EstimatedTokens => Math.Max(1, (Text.Length + 3) / 4);
}

/// <summary>A tool call that failed for a stated reason (non-zero exit, output limit...); not a harness error.</summary>
public sealed class ToolFailedException(string reason) : Exception(reason);

/// <summary>
/// What tools share for one run: the profile, the worker count, the seed, a private temporary folder
/// (deleted after the run) and the generated text corpus.
/// </summary>
public sealed class ToolEnvironment : IDisposable
{
    private readonly Lazy<SyntheticCorpus> _corpus;

    public ToolEnvironment(AgentProfile profile, int workers, int seed, string? tempRoot = null)
    {
        Profile = profile;
        Workers = workers;
        Seed = seed;
        TempDirectory = Path.Combine(tempRoot ?? Path.GetTempPath(), $"harness-agents-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(TempDirectory);
        _corpus = new Lazy<SyntheticCorpus>(() => new SyntheticCorpus(seed, SyntheticCorpus.DefaultBytes));
    }

    public AgentProfile Profile { get; }

    public int Workers { get; }

    public int Seed { get; }

    public string TempDirectory { get; }

    /// <summary>The generated text (logs, code, prose) that grep, compress, tokenize and exec work on.</summary>
    public SyntheticCorpus Corpus => _corpus.Value;

    /// <summary>A folder of one worker's own, inside <see cref="TempDirectory"/>.</summary>
    public string WorkerDirectory(int worker)
    {
        string dir = Path.Combine(TempDirectory, $"w{worker}");
        Directory.CreateDirectory(dir);
        return dir;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(TempDirectory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A hung subprocess may still hold a file; the folder is in the temp area.
        }
    }
}
