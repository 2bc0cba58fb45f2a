using Harness.Agents.Profiles;
using Harness.Decoding;

namespace Harness.Agents.Scheduling;

/// <summary>The scheduler's settings for one run: agents, tool workers, and the in-process LLM endpoint's batching.</summary>
public sealed record AgentSchedulerOptions
{
    /// <summary>Concurrent agents sharing the one LLM device.</summary>
    public required int Agents { get; init; }

    /// <summary>Tool workers: tool calls that run at once (one core each).</summary>
    public required int Workers { get; init; }

    /// <summary>Batch slots of the LLM device.</summary>
    public int MaxBatch { get; init; } = 32;

    public LlmBatching Batching { get; init; } = LlmBatching.Continuous;

    /// <summary>A waiting step is admitted once it has waited this long, or at once when it fills the free slots.</summary>
    public TimeSpan BatchWindow { get; init; } = TimeSpan.FromMilliseconds(2);

    /// <summary>
    /// Prefill tokens one iteration admits at most (vLLM's max_num_batched_tokens): waiting steps
    /// join while their new tokens fit, and at least one always does.
    /// </summary>
    public int MaxPrefillTokens { get; init; } = 16_384;

    /// <summary>Run seed: fixes every job and every tool call's data.</summary>
    public int Seed { get; init; } = 42;

    /// <summary>
    /// True: each agent starts at a seeded turn of its first task, with that turn's context already in
    /// the prefix cache (steady state), so that the agents are not in lock step at the start (their
    /// first tasks count as partial).
    /// </summary>
    public bool StaggerStart { get; init; } = true;

    /// <summary>
    /// The LLM is a remote server (<c>--llm openai:URL</c>): each step sends the agent's whole
    /// conversation so far as messages (system prompt, task, earlier replies and tool outputs), so the
    /// server sees the prefix reuse of a real agent; its busy time is counted from the steps in flight
    /// (at most <see cref="MaxBatch"/>, the server's batch slots as given).
    /// </summary>
    public bool RemoteLlm { get; init; }

    /// <summary>The remote LLM's tokenizer (<c>--llm-set tokenizer=PATH</c>): the agents' texts are their lengths in its tokens;
    /// null: about a word per token.</summary>
    public Harness.Datasets.ITokenCounter? PromptTokenizer { get; init; }

    /// <summary>What the agents do when their conversations may outgrow the LLM's context (<c>--llm-set context=</c>).</summary>
    public ContextPolicy ContextPolicy { get; init; } = ContextPolicy.Refuse;

    /// <summary>The LLM's context in tokens when known before the run (a server's /models, a decoder's model); null otherwise.</summary>
    public int? ContextTokens { get; init; }

    /// <summary>Where <see cref="ContextTokens"/> came from, for the result.</summary>
    public string? ContextSource { get; init; }

    /// <summary>
    /// After a failed LLM step the agent's job ends (failed) and the agent waits this long before its
    /// next job, doubled at each further failure in a row up to <see cref="MaxFailureBackoff"/> (with a
    /// seeded jitter of up to half): a failing server is never sent a storm of retries.
    /// </summary>
    public TimeSpan FailureBackoff { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan MaxFailureBackoff { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The batching of an in-process LLM endpoint serving these agents.</summary>
    public BatchingOptions Endpoint => new()
    {
        MaxBatch = MaxBatch,
        Batching = Batching,
        Window = BatchWindow,
        MaxPrefillTokens = MaxPrefillTokens,
    };

    public static AgentSchedulerOptions For(AgentProfile profile, int? agents, int? workers) => new()
    {
        Agents = agents ?? profile.Agents,
        Workers = workers ?? Environment.ProcessorCount,
        MaxBatch = profile.MaxBatch,
    };

    public void Validate()
    {
        if (Agents < 1 || Workers < 1 || MaxBatch < 1 || MaxPrefillTokens < 1)
        {
            throw HarnessException.BadInput($"Agents ({Agents}), workers ({Workers}), the LLM batch ({MaxBatch}) and prefill tokens per iteration ({MaxPrefillTokens}) must each be at least 1.");
        }

        if (BatchWindow < TimeSpan.Zero)
        {
            throw HarnessException.BadInput("The LLM batch window must not be negative.");
        }

        if (FailureBackoff < TimeSpan.Zero || MaxFailureBackoff < FailureBackoff)
        {
            throw HarnessException.BadInput("The failure backoff must not be negative, nor above its maximum.");
        }
    }
}
