using Harness.Metrics;

namespace Harness.Agents.Profiles;

/// <summary>What an agent does when one of its tool calls fails.</summary>
public enum ToolFailurePolicy
{
    /// <summary>The error text joins the context and the task goes on (what coding agents do).</summary>
    Continue,
    /// <summary>The task ends at once and counts as a failed job.</summary>
    EndJob,
}

/// <summary>
/// An agent mix, read from profiles/agents/NAME.json: how many agents share one LLM device, how long
/// their tasks are, how many tokens each step prefills and decodes, and which real CPU tools they
/// call with which sizes. Every number carries the source of its shape in <see cref="Sources"/>.
/// </summary>
public sealed record AgentProfile
{
    public required string Name { get; init; }

    public string Description { get; init; } = "";

    /// <summary>The file it was read from; null for profiles built in code.</summary>
    public string? Path { get; init; }

    /// <summary>Concurrent agents (sessions) per LLM device, unless the command line says otherwise.</summary>
    public int Agents { get; init; } = 8;

    /// <summary>Sequences the LLM device decodes together at most (its batch slots).</summary>
    public int MaxBatch { get; init; } = 32;

    /// <summary>True: a step prefills only the tokens added since the agent's previous step (prefix cache hit); false: the whole context.</summary>
    public bool PrefixCaching { get; init; } = true;

    /// <summary>Context length at which an agent's context stops growing (compaction).</summary>
    public int MaxContextTokens { get; init; } = 131_072;

    /// <summary>LLM steps (turns) in one task.</summary>
    public required Distribution Turns { get; init; }

    /// <summary>Tokens of the system prompt and task before the first step.</summary>
    public required Distribution InitialPromptTokens { get; init; }

    /// <summary>Tokens decoded by one step (tool-call arguments or the answer).</summary>
    public required Distribution DecodeTokens { get; init; }

    /// <summary>Tool calls that follow one step.</summary>
    public required Distribution ToolCallsPerTurn { get; init; }

    /// <summary>True: a step's tool calls run at the same time; false: one after another.</summary>
    public bool ParallelToolCalls { get; init; }

    /// <summary>True: the last step of a task answers and calls no tool.</summary>
    public bool FinalTurnWithoutTools { get; init; } = true;

    /// <summary>A tool call slower than this is stopped and recorded as a timeout.</summary>
    public TimeSpan ToolTimeout { get; init; } = TimeSpan.FromSeconds(10);

    public ToolFailurePolicy OnToolFailure { get; init; } = ToolFailurePolicy.Continue;

    /// <summary>A tool's output joins the context up to this many tokens (agents truncate long outputs).</summary>
    public int MaxToolOutputTokens { get; init; } = 8_192;

    /// <summary>The tool mix: which tools, how often, with which sizes.</summary>
    public required IReadOnlyList<ToolMixEntry> Tools { get; init; }

    /// <summary>Commands the <c>exec</c> tool may run, and its limits.</summary>
    public ExecSettings Exec { get; init; } = new();

    /// <summary>Where each shape comes from, by field name.</summary>
    public IReadOnlyDictionary<string, string> Sources { get; init; } = new Dictionary<string, string>();

    /// <summary>Mean LLM steps per task after clamping, the divisor of jobs per hour.</summary>
    public double MeanTurnsPerJob => Turns.EstimateMean();

    /// <summary>Facts for the result's config.</summary>
    public Dictionary<string, object?> Describe() => new()
    {
        [ConfigKeys.Profile] = Name,
        [ConfigKeys.ProfilePath] = Path,
        [ConfigKeys.ProfileAgents] = Agents,
        [ConfigKeys.MaxBatch] = MaxBatch,
        [ConfigKeys.PrefixCaching] = PrefixCaching,
        [ConfigKeys.MaxContextTokens] = MaxContextTokens,
        [ConfigKeys.Turns] = Turns.Describe(),
        [ConfigKeys.MeanTurnsPerJob] = Math.Round(MeanTurnsPerJob, 3),
        [ConfigKeys.InitialPromptTokens] = InitialPromptTokens.Describe(),
        [ConfigKeys.DecodeTokens] = DecodeTokens.Describe(),
        [ConfigKeys.ToolCallsPerTurn] = ToolCallsPerTurn.Describe(),
        [ConfigKeys.ParallelToolCalls] = ParallelToolCalls,
        [ConfigKeys.ToolTimeoutS] = ToolTimeout.TotalSeconds,
        [ConfigKeys.OnToolFailure] = OnToolFailure == ToolFailurePolicy.Continue ? "continue" : "end_job",
        [ConfigKeys.ToolMix] = Tools.ToDictionary(t => t.Tool, t => (object?)t.Weight),
        [ConfigKeys.ExecAllowList] = Exec.Allow.Select(c => c.Name).ToList(),
    };
}

/// <summary>One tool in a profile's mix: relative weight, variants (e.g. which regex, which command) and sized arguments.</summary>
public sealed record ToolMixEntry
{
    public required string Tool { get; init; }

    public double Weight { get; init; } = 1;

    /// <summary>Named variants with weights; empty for tools without variants.</summary>
    public IReadOnlyList<KeyValuePair<string, double>> Variants { get; init; } = [];

    /// <summary>Size arguments by name (corpus_kb, records, rows...), each a distribution.</summary>
    public IReadOnlyDictionary<string, Distribution> Args { get; init; } = new Dictionary<string, Distribution>();
}

/// <summary>
/// The <c>exec</c> tool's allow-list and limits. Commands and their arguments come from the profile
/// (trusted configuration) only; tool calls choose a command by name and send data on stdin.
/// </summary>
public sealed record ExecSettings
{
    public IReadOnlyList<ExecCommand> Allow { get; init; } = [];

    /// <summary>Output beyond this many bytes (stdout plus stderr) kills the process: a flooded output is a failed call.</summary>
    public int MaxOutputBytes { get; init; } = 256 * 1024;

    /// <summary>auto: no network through a new network namespace where unshare works, else none; unshare: required; none: no isolation.</summary>
    public string Sandbox { get; init; } = "auto";
}

/// <summary>One allowed command: a name for tool calls, the executable, and fixed arguments.</summary>
public sealed record ExecCommand(string Name, string Command, IReadOnlyList<string> Args);
