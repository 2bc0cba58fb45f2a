using Harness.Agents.Jobs;
using Harness.Agents.Profiles;
using Harness.Agents.Scheduling;
using Harness.Datasets;
using Harness.Decoding;

namespace Harness.Tests.Agents.Scheduling;

/// <summary>
/// The agents against the LLM's context: the profile's largest request, the refusal that names both
/// numbers, the truncation policy, and what a failed step does (no storm, no busy time). The
/// coordinator is driven by hand on a fake clock (1 tick = 1 ns) with a host that only records steps.
/// </summary>
public class ContextWindowTests
{
    private const long F = 1_000_000_000;

    [Fact]
    public void The_largest_request_of_coding_agent_is_its_max_context_plus_its_largest_step()
    {
        AgentProfile profile = CodingAgent;
        ConversationBound bound = ConversationBound.Of(profile);
        Assert.Equal(131_072, bound.Conversation); // 32000 + 199 x (4096 + 3 x 8192) is capped by max_context_tokens
        Assert.Equal(4096, bound.Decode);
        Assert.Equal(135_168, bound.LargestRequest);
        Assert.Equal(2008, bound.FirstStepSmallest); // first prompt at least 2000, a step at least 8
    }

    [Fact]
    public void A_fixed_profile_grows_by_its_turns_decodes_and_tool_outputs()
    {
        AgentProfile profile = AgentTestProfiles.Fixed(turns: 4, decode: 3, calls: 1, prompt: 100);
        ConversationBound bound = ConversationBound.Of(profile);
        Assert.Equal(100 + (3 * (3 + 8192)), bound.Conversation);
        Assert.Equal(bound.Conversation + 3, bound.LargestRequest);
    }

    [Fact]
    public void A_profile_that_cannot_fit_is_refused_with_both_numbers()
    {
        AgentProfile profile = CodingAgent;
        var options = new AgentSchedulerOptions { Agents = 2, Workers = 1 };
        HarnessException e = Assert.Throws<HarnessException>(
            () => ContextFit.Apply(profile, options, 1024, "max_model_len of gpt2-124m in /models"));
        Assert.Equal(ExitCodes.BadInput, e.ExitCode);
        Assert.Contains("135168 tokens", e.Message, StringComparison.Ordinal);
        Assert.Contains("is 1024 tokens", e.Message, StringComparison.Ordinal);
        Assert.Contains("--llm-set context=truncate-oldest", e.Message, StringComparison.Ordinal);

        // Under truncation it runs, with the context in its options; unknown context: nothing to check before the run.
        AgentSchedulerOptions truncate = options with { ContextPolicy = ContextPolicy.TruncateOldest };
        AgentSchedulerOptions truncating = ContextFit.Apply(profile, truncate, 1024, "x");
        Assert.Equal(1024, truncating.ContextTokens);
        Assert.Null(ContextFit.Apply(profile, options, null, null).ContextTokens);
        Assert.Throws<HarnessException>(() => ContextFit.Apply(profile, truncate, 32, "x"));

        AgentProfile small = AgentTestProfiles.Fixed(turns: 2, decode: 3, calls: 0, prompt: 100);
        Assert.Equal(131_072, ContextFit.Apply(small, options, 131_072, "x").ContextTokens);
    }

    [Theory]
    [InlineData(
        "This model's maximum context length is 1024 tokens. However, you requested 1100 tokens (1000 in the messages, "
        + "100 for the completion). Please reduce the length of the messages or the completion.", 1024, 1100, 1000)]
    [InlineData(
        "This model's maximum context length is 1024 tokens. However, the messages are 1030 tokens, which leaves no room for a completion.",
        1024, null, 1030)]
    [InlineData(
        "'max_tokens' or 'max_completion_tokens' is too large: 4096. This model's maximum context length is 2048 tokens "
        + "and your request has 100 input tokens (4096 > 2048 - 100).", 2048, null, 100)]
    [InlineData(
        "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens "
        + "(4000 in the messages, 1000 in the completion).",
        4096, 5000, 4000)]
    [InlineData("The input (3000 tokens) is longer than the model's context length (2048 tokens).", 2048, null, 3000)]
    [InlineData(
        "Input validation error: `inputs` tokens + `max_new_tokens` must be <= 4096. Given: 4000 `inputs` tokens and 500 `max_new_tokens`",
        4096, 4500, 4000)]
    public void Context_errors_are_read_in_the_phrasings_of_the_servers(string message, int context, int? requested, int? prompt)
    {
        ContextLimit limit = ContextLimit.TryParse($"HTTP 400 Bad Request before the stream: {message}")!;
        Assert.Equal(new ContextLimit(context, requested, prompt), limit);
    }

    [Theory]
    [InlineData("HTTP 503 Service Unavailable before the stream: no free KV blocks")]
    [InlineData("connection failed: Connection refused")]
    [InlineData("")]
    public void Other_errors_are_no_context_limit(string message) => Assert.Null(ContextLimit.TryParse(message));

    [Fact]
    public void Truncation_keeps_the_system_prompt_and_the_newest_messages_within_context_minus_new_tokens()
    {
        var window = new ContextWindow(ContextPolicy.TruncateOldest, 1024, "test");
        List<LlmMessage> conversation = [LlmMessage.System(Words(200)), LlmMessage.User(Words(300))];
        for (int i = 0; i < 10; i++)
        {
            conversation.Add(LlmMessage.Assistant(Words(50)));
            conversation.Add(LlmMessage.User($"[grep output {i}]\n" + Words(150)));
        }

        int maxNew = window.MaxNewTokens(300);
        IReadOnlyList<LlmMessage> sent = window.Fit(conversation, maxNew);
        Assert.Equal(300, maxNew);
        Assert.True(ContextWindow.Estimate(sent) <= 1024 - maxNew, $"{ContextWindow.Estimate(sent)} estimated tokens");
        Assert.Equal("system", sent[0].Role);
        Assert.Equal(conversation[0].Content, sent[0].Content);
        Assert.StartsWith("[grep output 9]", sent[^1].Content, StringComparison.Ordinal); // the newest kept whole
        Assert.True(window.DroppedMessages > 0);
        Assert.Equal(sent.Count, conversation.Count); // dropped for good, as history is compacted
        Assert.Equal(1, window.TrimmedSteps);

        // A step that decodes more than half the context is capped, so that a prompt always has room.
        Assert.Equal(512, window.MaxNewTokens(4096));
        Assert.Equal(1, window.CappedDecodes);
    }

    [Fact]
    public void When_the_system_prompt_alone_is_too_long_it_keeps_its_head_and_the_newest_message_its_tail()
    {
        var window = new ContextWindow(ContextPolicy.TruncateOldest, 256, "test");
        string system = "HEAD " + Words(2000);
        string newest = Words(2000) + " TAIL";
        IReadOnlyList<LlmMessage> sent = window.Fit([LlmMessage.System(system), LlmMessage.User(newest)], 64);
        Assert.True(ContextWindow.Estimate(sent) <= 256 - 64);
        Assert.StartsWith("HEAD", sent[0].Content, StringComparison.Ordinal);
        Assert.EndsWith("TAIL", sent[1].Content, StringComparison.Ordinal);
        Assert.Equal(2, window.CutMessages);
    }

    [Fact]
    public void The_servers_counts_calibrate_the_estimate_and_a_context_error_teaches_the_context()
    {
        var window = new ContextWindow(ContextPolicy.TruncateOldest, null, null);
        List<LlmMessage> conversation = [LlmMessage.System(Words(100)), LlmMessage.User(Words(400)), LlmMessage.User(Words(400))];
        Assert.Equal(3, window.Fit(conversation, 10).Count); // the context is unknown: nothing is trimmed yet

        long estimate = ContextWindow.Estimate(conversation);
        string error = $"maximum context length is 512 tokens. However, you requested 9999 tokens ({estimate * 2} in the messages, "
            + "10 for the completion).";
        window.Learn(ContextLimit.TryParse(error)!, conversation, 10);
        Assert.Equal(512, window.Tokens);
        Assert.Equal(2.0, window.Calibration, 9);
        Assert.Equal(1, window.ContextErrors);
        IReadOnlyList<LlmMessage> sent = window.Fit(conversation, 10);
        Assert.True(2 * ContextWindow.Estimate(sent) <= 512 - 10, $"{ContextWindow.Estimate(sent)} estimated tokens, 2 server tokens each");

        window.Observe(sent, 1); // a smaller ratio does not lower it
        Assert.Equal(2.0, window.Calibration, 9);
    }

    [Fact]
    public void The_refuse_policy_trims_nothing()
    {
        var window = new ContextWindow(ContextPolicy.Refuse, 128, "test");
        List<LlmMessage> conversation = [LlmMessage.System(Words(500)), LlmMessage.User(Words(500))];
        Assert.Equal(2, window.Fit(conversation, 100).Count);
        Assert.Equal(conversation[0].Content, window.Fit(conversation, 100)[0].Content);
        Assert.Equal(4096, window.MaxNewTokens(4096));
        Assert.Equal(0, window.TrimmedSteps);
    }

    [Fact]
    public void A_server_that_fails_every_step_gets_each_agent_back_only_after_a_growing_wait_and_no_busy_time()
    {
        // Every step fails 1 ms after it is sent, for a minute: without a wait that is 60,000 requests per agent.
        const int agents = 4;
        var host = new RecordingHost();
        var options = new AgentSchedulerOptions { Agents = agents, Workers = 1, MaxBatch = 4, RemoteLlm = true, StaggerStart = false };
        var accounting = new AgentAccounting(F, 0, options.MaxBatch, options.Workers);
        var jobs = new JobGenerator(AgentTestProfiles.Fixed(turns: 5, decode: 3), 42);
        var coordinator = new AgentCoordinator(jobs, options, host, accounting);
        long now = 0, end = 60 * F;
        coordinator.Start(now);
        while (now < end)
        {
            foreach (AgentStep step in host.TakeSent())
            {
                long failed = now + 1_000_000;
                coordinator.OnStepFailed(step, "HTTP 400 Bad Request before the stream: messages: unsupported field", failed, failed);
            }

            now = coordinator.NextWake ?? end;
            coordinator.OnTime(now);
        }

        coordinator.Stop(end);
        // Waits of 1, 2, 4, 8, 16 s and then 30 s (each at least half that): at most 8 steps per agent in 60 s.
        Assert.InRange(host.Sent, agents, agents * 8);
        Assert.InRange(accounting.StepsFailed, host.Sent - agents, host.Sent); // the last wave may still be in flight
        Assert.Equal(accounting.StepsFailed, coordinator.Backoffs);
        Assert.Equal(accounting.StepsFailed, accounting.JobsFailed); // a failed step ends its agent's job
        Assert.Equal(0, accounting.DeviceSlotTicks); // steps that produced no token are no LLM busy time
        Assert.Equal(0, accounting.DeviceActiveTicks);
        Assert.Null(coordinator.Refusal);
    }

    [Fact]
    public void With_the_servers_tokenizer_an_agents_first_prompt_is_its_length_in_that_tokenizer()
    {
        var vocab = Harness.Tokenization.SentencePieceVocabulary.ForSize(1000);
        var counter = new TokenizerCounter(Harness.Tokenization.TextTokenizer.FromSentencePiece(vocab.Encoder(), 2, 1, true), "spm");
        var host = new RecordingHost();
        var options = new AgentSchedulerOptions
        {
            Agents = 2, Workers = 1, MaxBatch = 4, RemoteLlm = true, StaggerStart = false, PromptTokenizer = counter,
        };
        var coordinator = new AgentCoordinator(
            new JobGenerator(AgentTestProfiles.Fixed(turns: 4, decode: 3, prompt: 400), 42), options, host, Accounting(options));
        coordinator.Start(0);
        foreach (AgentStep step in host.TakeSent())
        {
            IReadOnlyList<LlmMessage> messages = step.Request.Messages;
            Assert.Equal([200, 200], messages.Select(m => counter.Count(m.Content)));
        }
    }

    [Fact]
    public void A_context_error_under_the_refuse_policy_ends_the_run_with_both_numbers()
    {
        var host = new RecordingHost();
        var options = new AgentSchedulerOptions { Agents = 2, Workers = 1, MaxBatch = 4, RemoteLlm = true, StaggerStart = false };
        var coordinator = new AgentCoordinator(
            new JobGenerator(AgentTestProfiles.Fixed(turns: 4, decode: 3), 42), options, host, Accounting(options));
        coordinator.Start(0);
        AgentStep first = host.TakeSent()[0];
        const string error = "HTTP 400 Bad Request before the stream: This model's maximum context length is 64 tokens. "
            + "However, you requested 140 tokens (137 in the messages, 3 for the completion).";
        coordinator.OnStepFailed(first, error, 10, 10);
        Assert.NotNull(coordinator.Refusal);
        Assert.Contains("64 tokens of context; 140 requested", coordinator.Refusal, StringComparison.Ordinal);
        Assert.Contains("its requests reach 24688 tokens", coordinator.Refusal, StringComparison.Ordinal); // 100 + 3 x (3 + 8192) + 3
    }

    [Fact]
    public void Under_truncation_a_context_error_teaches_the_context_and_later_steps_fit()
    {
        var host = new RecordingHost();
        var options = new AgentSchedulerOptions
        {
            Agents = 1, Workers = 1, MaxBatch = 4, RemoteLlm = true, StaggerStart = false, ContextPolicy = ContextPolicy.TruncateOldest,
            FailureBackoff = TimeSpan.FromMilliseconds(10),
        };
        var coordinator = new AgentCoordinator(
            new JobGenerator(AgentTestProfiles.Fixed(turns: 5, decode: 3, prompt: 400), 42), options, host, Accounting(options));
        coordinator.Start(0);
        AgentStep first = host.TakeSent()[0];
        const string error = "This model's maximum context length is 128 tokens. However, you requested 420 tokens "
            + "(417 in the messages, 3 for the completion).";
        coordinator.OnStepFailed(first, error, 10, 10);
        Assert.Null(coordinator.Refusal);
        Assert.Equal(128, coordinator.Context.Tokens);
        coordinator.OnTime(coordinator.NextWake!.Value);
        AgentStep next = Assert.Single(host.TakeSent());
        Assert.True(ContextWindow.Estimate(next.Request.Messages) * coordinator.Context.Calibration <= 128 - 3);
    }

    private static AgentProfile CodingAgent =>
        AgentProfileLoader.Load(Path.Combine(Testing.Repository.Root, "profiles", "agents", "coding-agent.json"));

    private static AgentAccounting Accounting(AgentSchedulerOptions options) => new(F, 0, options.MaxBatch, options.Workers);

    private static string Words(int n) => Harness.Datasets.SyntheticText.Of(n, n);

    private sealed class RecordingHost : IAgentHost
    {
        private readonly List<AgentStep> _pending = new();

        public int Sent { get; private set; }

        public List<AgentStep> TakeSent()
        {
            List<AgentStep> taken = [.. _pending];
            _pending.Clear();
            return taken;
        }

        public void StartTool(int worker, ToolTicket ticket)
        {
        }

        public void SubmitStep(AgentStep step)
        {
            Sent++;
            _pending.Add(step);
        }

        public void StepCompleted(AgentStep step, long end)
        {
        }

        public void StepFailed(AgentStep step, Exception error)
        {
        }
    }
}
