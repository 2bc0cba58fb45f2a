using System.Globalization;
using Harness.Agents.Profiles;
using Harness.Backends;
using Harness.Datasets;
using Harness.Decoding;
using Harness.Measurement;
using Harness.Metrics;

namespace Harness.Agents.Scheduling;

/// <summary>What the agents do when their conversations may not fit the LLM's context (<c>--llm-set context=</c>).</summary>
public enum ContextPolicy
{
    /// <summary>Refuse the run (exit 2, both numbers) when the profile's requests can outgrow the context.</summary>
    Refuse,

    /// <summary>
    /// Keep every request within the context: drop the oldest messages but keep the system prompt (as
    /// agent frameworks trim history), cap a step's new tokens at half the context, and cut the system
    /// prompt's tail and the newest message's head only when those two alone do not fit.
    /// </summary>
    TruncateOldest,
}

/// <summary>The <c>context</c> setting of the agents' <c>--llm-set</c>.</summary>
public static class ContextPolicies
{
    /// <summary>The key in <c>--llm-set context=POLICY</c>.</summary>
    public const string Key = "context";

    public static string Name(ContextPolicy policy) => policy == ContextPolicy.Refuse ? "refuse" : "truncate-oldest";

    public static ContextPolicy Parse(string value) => value.Trim().ToLowerInvariant() switch
    {
        "refuse" => ContextPolicy.Refuse,
        "truncate-oldest" or "truncate_oldest" => ContextPolicy.TruncateOldest,
        _ => throw HarnessException.BadInput($"--llm-set context={value} must be refuse (the default) or truncate-oldest."),
    };
}

/// <summary>
/// The largest request an agent profile can send, from the upper bounds of its distributions: the
/// conversation grows from the first prompt by each turn's decoded tokens and its tool outputs (each
/// at most max_tool_output_tokens) up to the profile's max_context_tokens, and the last step decodes
/// on top. A bound, not a percentile: any request above the context is refused by the server.
/// </summary>
/// <param name="Conversation">Tokens the conversation can reach before a step (at most max_context_tokens).</param>
/// <param name="Decode">Tokens one step can decode at most.</param>
/// <param name="FirstStepSmallest">The smallest first step: the smallest first prompt plus the fewest decoded tokens.</param>
public sealed record ConversationBound(long Conversation, long Decode, long FirstStepSmallest)
{
    /// <summary>The largest request: the whole conversation plus a step's new tokens.</summary>
    public long LargestRequest => Conversation + Decode;

    public static ConversationBound Of(AgentProfile profile)
    {
        double turns = Math.Max(1, profile.Turns.Largest);
        double decode = Math.Max(1, profile.DecodeTokens.Largest);
        double calls = profile.Tools.Count == 0 ? 0 : Math.Max(0, profile.ToolCallsPerTurn.Largest);
        double first = Math.Max(1, profile.InitialPromptTokens.Largest);
        double grown = first + ((turns - 1) * (decode + (calls * profile.MaxToolOutputTokens)));
        long conversation = (long)Math.Min(profile.MaxContextTokens, Math.Min(grown, long.MaxValue / 4));
        double smallest = Math.Max(1, profile.InitialPromptTokens.Smallest) + Math.Max(1, profile.DecodeTokens.Smallest);
        return new ConversationBound(conversation, (long)Math.Min(decode, int.MaxValue), (long)smallest);
    }

    /// <summary>"135168 tokens (the conversation reaches 131072, a step decodes up to 4096; the smallest first step is 2008)".</summary>
    public string Describe(AgentProfile profile) => string.Create(CultureInfo.InvariantCulture,
        $"{LargestRequest} tokens (its conversation reaches {Conversation}" +
        $"{(Conversation >= profile.MaxContextTokens ? ", its max_context_tokens" : "")}, " +
        $"a step decodes up to {Decode}; the smallest first step is {FirstStepSmallest})");
}

/// <summary>
/// The LLM's context as the agents see it during a run, and the <see cref="ContextPolicy"/> that keeps
/// their requests in it. The context is known before the run (a server's /models, a decoder's model
/// config) or learned from the first context-length error. Under <see cref="ContextPolicy.TruncateOldest"/>
/// a request's prompt is kept within context - new tokens, its length estimated at 4 characters a
/// token plus <see cref="MessageOverheadTokens"/> per message, times a calibration that starts at
/// <see cref="PriorCalibration"/> and that the server's own counts raise (usage.prompt_tokens of each
/// completed step, the prompt of a context error): the largest ratio of its count to the estimate seen
/// so far. Single-threaded (the coordinator's).
/// </summary>
public sealed class ContextWindow
{
    /// <summary>Tokens allowed per message for the chat template's markers (ChatML written as text takes about this many).</summary>
    public const int MessageOverheadTokens = 8;

    /// <summary>Contexts below this many tokens cannot hold a system prompt and a reply: truncation refuses them.</summary>
    public const int SmallestContext = 64;

    /// <summary>The share of the budget the estimate may fill, for the estimate's own error.</summary>
    private const double Margin = 0.95;

    /// <summary>
    /// The calibration before the server has counted anything: BPE tokenizers give code, logs and the
    /// chat template's markers more tokens than 4 characters each (GPT-2 behind <c>harness serve</c>
    /// counted 1.3 times the estimate of the agents' requests).
    /// </summary>
    public const double PriorCalibration = 1.25;

    public ContextWindow(ContextPolicy policy, int? tokens, string? source)
    {
        Policy = policy;
        Tokens = tokens;
        Source = source;
    }

    public ContextPolicy Policy { get; }

    /// <summary>The LLM's context in tokens; null while unknown.</summary>
    public int? Tokens { get; private set; }

    /// <summary>Where <see cref="Tokens"/> came from (/models, the model config, a context error).</summary>
    public string? Source { get; private set; }

    /// <summary>Server tokens per estimated token: the largest the server's counts showed, at least the prior.</summary>
    public double Calibration { get; private set; } = PriorCalibration;

    /// <summary>Steps whose prompt was trimmed to fit.</summary>
    public long TrimmedSteps { get; private set; }

    /// <summary>Messages dropped from conversations (oldest first, the system prompt kept).</summary>
    public long DroppedMessages { get; private set; }

    /// <summary>Messages cut to a part (the system prompt's head, the newest message's tail), in requests sent.</summary>
    public long CutMessages { get; private set; }

    /// <summary>Steps whose new tokens were capped at half the context.</summary>
    public long CappedDecodes { get; private set; }

    /// <summary>Context-length errors the server answered.</summary>
    public long ContextErrors { get; private set; }

    private bool Trims => Policy == ContextPolicy.TruncateOldest && Tokens is not null;

    /// <summary>A step's new tokens: under truncation at most half the context, so that a prompt always has room.</summary>
    public int MaxNewTokens(int decode)
    {
        if (!Trims || decode <= Tokens!.Value / 2)
        {
            return decode;
        }

        CappedDecodes++;
        return Math.Max(1, Tokens.Value / 2);
    }

    /// <summary>An in-process step's context in tokens, kept within context - new tokens; <paramref name="trimmed"/> when cut.</summary>
    public int FitTokens(int context, int maxNew, out bool trimmed)
    {
        int budget = Trims ? Math.Max(1, Tokens!.Value - maxNew) : int.MaxValue;
        trimmed = context > budget;
        if (trimmed)
        {
            TrimmedSteps++;
        }

        return Math.Min(context, budget);
    }

    /// <summary>
    /// The messages to send for a step of <paramref name="maxNew"/> new tokens: all of them when they fit
    /// (or nothing trims), else the system prompt and the newest that fit. Dropped messages leave
    /// <paramref name="conversation"/> for good, as an agent's history is compacted; cuts are made in the
    /// copy sent.
    /// </summary>
    public IReadOnlyList<LlmMessage> Fit(List<LlmMessage> conversation, int maxNew)
    {
        if (!Trims || conversation.Count == 0)
        {
            return [.. conversation];
        }

        long budget = (long)Math.Floor((Tokens!.Value - maxNew) * Margin / Calibration);
        long total = Estimate(conversation);
        if (total <= budget)
        {
            return [.. conversation];
        }

        TrimmedSteps++;
        while (conversation.Count > 2 && total > budget)
        {
            total -= Estimate(conversation[1]);
            conversation.RemoveAt(1);
            DroppedMessages++;
        }

        if (total <= budget || conversation.Count < 2)
        {
            return [.. conversation];
        }

        // The system prompt and the newest message alone are too long: keep the system prompt's head
        // (at most half the budget) and the newest message's tail.
        LlmMessage system = conversation[0], newest = conversation[^1];
        long room = Math.Max(2, budget - ReplyOverhead - (2 * MessageOverheadTokens));
        long systemRoom = Math.Min(Math.Max(1, ContentTokens(system)), room / 2);
        return [Cut(system, systemRoom, keepHead: true), Cut(newest, room - systemRoom, keepHead: false)];
    }

    /// <summary>A completed step: the server counted <paramref name="promptTokens"/> for what was sent (from its usage).</summary>
    public void Observe(IReadOnlyList<LlmMessage> sent, int? promptTokens)
    {
        if (promptTokens is > 0 && sent.Count > 0)
        {
            Calibration = Math.Max(Calibration, (double)promptTokens.Value / Estimate(sent));
        }
    }

    /// <summary>A context-length error: learn the context when it was unknown (or larger than the server says), and calibrate.</summary>
    public void Learn(ContextLimit limit, IReadOnlyList<LlmMessage> sent, int maxNew)
    {
        ContextErrors++;
        if (Tokens is null || limit.Context < Tokens)
        {
            Tokens = limit.Context;
            Source = "the server's first context-length error";
        }

        int? prompt = limit.Prompt ?? (limit.Requested is { } r ? r - maxNew : null);
        Observe(sent, prompt);
    }

    /// <summary>Estimated tokens of messages as a chat request: each message's text and markers, and the reply's opening.</summary>
    public static long Estimate(IReadOnlyList<LlmMessage> messages)
    {
        long sum = ReplyOverhead;
        foreach (LlmMessage m in messages)
        {
            sum += Estimate(m);
        }

        return sum;
    }

    private const int ReplyOverhead = 4;

    private static long Estimate(LlmMessage m) => ContentTokens(m) + MessageOverheadTokens;

    private static long ContentTokens(LlmMessage m) => (m.Content.Length + 3) / 4;

    private LlmMessage Cut(LlmMessage m, long tokens, bool keepHead)
    {
        long chars = Math.Max(1, tokens) * 4;
        if (m.Content.Length <= chars)
        {
            return m;
        }

        CutMessages++;
        int n = (int)chars;
        return m with { Content = keepHead ? m.Content[..n] : m.Content[^n..] };
    }
}

/// <summary>The check before the first step: do the profile's requests fit the LLM's context, as the policy needs?</summary>
public static class ContextFit
{
    /// <summary>
    /// Before anything is prepared: connects to a server (whose /models may say its context) or reads a
    /// decoder's model config, then checks the profile against that context (<see cref="Apply"/>). The
    /// options come back with the context and the remote flag; the connection is the caller's to dispose.
    /// </summary>
    public static (AgentSchedulerOptions Options, EndpointConnection? Connection) Prepare(
        AgentProfile profile, AgentSchedulerOptions options, LlmChoice llm, BackendRegistry backends, IClock clock)
    {
        if (!llm.IsRemote)
        {
            if (!llm.IsLatencyModel)
            {
                llm.Check(backends, options.MaxBatch); // an unknown backend or a model that does not fit is named first
            }

            string? of = llm.DecoderModelName is { } model ? $"max_positions of {model}" : null;
            return (Apply(profile, options, llm.DecoderContext, of), null);
        }

        EndpointConnection connection = llm.Connect(backends, clock);
        try
        {
            object? model = connection.Endpoint.Details.TryGetValue(ConfigKeys.Model, out object? m) ? m : "the model";
            string? source = connection.ContextTokens is null ? null : $"max_model_len of {model} in /models";
            AgentSchedulerOptions remote = options with { RemoteLlm = true, PromptTokenizer = connection.Tokenizer };
            return (Apply(profile, remote, connection.ContextTokens, source), connection);
        }
        catch
        {
            connection.Endpoint.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The options with the LLM's context (<paramref name="tokens"/>, null when unknown before the run)
    /// and where it came from. Under <see cref="ContextPolicy.Refuse"/> a profile whose largest request
    /// is longer is bad input naming both numbers; truncation needs at least <see cref="ContextWindow.SmallestContext"/> tokens.
    /// </summary>
    public static AgentSchedulerOptions Apply(AgentProfile profile, AgentSchedulerOptions options, int? tokens, string? source)
    {
        options = options with { ContextTokens = tokens, ContextSource = source };
        if (tokens is not { } n)
        {
            return options;
        }

        if (options.ContextPolicy == ContextPolicy.TruncateOldest)
        {
            return n >= ContextWindow.SmallestContext
                ? options
                : throw HarnessException.BadInput(string.Create(CultureInfo.InvariantCulture,
                    $"The LLM's context ({source}) is {n} tokens: truncate-oldest needs {ContextWindow.SmallestContext} or more."));
        }

        ConversationBound bound = ConversationBound.Of(profile);
        return bound.LargestRequest <= n
            ? options
            : throw HarnessException.BadInput(
                Refusal(profile, bound, string.Create(CultureInfo.InvariantCulture, $"the LLM's context ({source}) is {n} tokens")));
    }

    /// <summary>The refusal when the server's first context-length error told the context (<see cref="ContextPolicy.Refuse"/>).</summary>
    public static string Refusal(AgentProfile profile, ContextLimit limit) =>
        Refusal(profile, ConversationBound.Of(profile), $"the server refused a step for its length ({limit}) and no step is retried");

    private static string Refusal(AgentProfile profile, ConversationBound bound, string context) =>
        $"Agent profile '{profile.Name}' does not fit the LLM's context: its requests reach {bound.Describe(profile)}, but {context}. " +
        "Use a model with a longer context, a profile whose max_context_tokens and decode_tokens fit, " +
        "or --llm-set context=truncate-oldest (drop the oldest messages so that each request fits).";
}
