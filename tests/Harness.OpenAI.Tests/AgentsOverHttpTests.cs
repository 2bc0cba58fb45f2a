using System.Text.Json;
using Harness.Agents.Reporting;
using Harness.OpenAI.Tests.Server;
using Harness.Results;
using Harness.Testing;
using Harness.Tests.Fakes;

namespace Harness.OpenAI.Tests;

/// <summary>
/// Agents with real tools against an OpenAI-compatible server: every step sends the agent's whole
/// conversation so far (so the server sees its prefix grow), and the result gives the LLM's busy
/// time from the steps in flight, the tools' CPU and the queueing apart.
/// </summary>
public sealed class AgentsOverHttpTests : IAsyncLifetime
{
    private OpenAiTestServer _server = null!;
    private readonly SyntheticModel _model = new() { Ttft = TimeSpan.FromMilliseconds(10), Tpot = TimeSpan.FromMilliseconds(2) };
    private readonly TempDir _dir = new();

    public async Task InitializeAsync()
    {
        _server = await OpenAiTestServer.StartAsync();
        _server.Handler = _model.Handle;
        _server.MetricsText = _model.Metrics;
        File.WriteAllText(Profile, """
            { "name": "tiny", "agents": 3, "max_batch": 4, "turns": 4, "initial_prompt_tokens": 100, "decode_tokens": 3,
              "tool_calls_per_turn": 1, "tools": [ { "tool": "grep", "args": { "corpus_kb": 64 } }, { "tool": "json", "args": { "records": 20 } } ] }
            """);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _dir.Dispose();
    }

    private string Profile => Path.Combine(_dir.Path, "tiny.json");

    /// <summary>
    /// The suite shares 2 cores with other work, so a run is valid but noisy (tests/Shared/SharedMachine.cs):
    /// since an agent run's CPU readings bracket its window, quiet_host judges it like any run.
    /// </summary>
    private const string NoisyMachine = "--allow-noisy";

    /// <remarks>
    /// The runs last 4 s: a valid run needs 44 LLM requests for its p90, and at 2 s a suite at load 20
    /// on 2 cores gave 34 and 36.
    /// </remarks>
    [Fact]
    public void Run_agents_over_http_sends_each_conversation_whole_and_reports_llm_tools_and_queueing()
    {
        string path = Path.Combine(_dir.Path, "agents.json");
        (int code, string output, string err) = GenerateOverHttpTests.Run(
            "run", "agents", "--profile", Profile, "--workers", "1", "--duration", "4s", "--warmup", "0.3s", "--min-turns", "1",
            "--llm", $"openai:{_server.BaseUrl}", NoisyMachine, "--out", path);

        Assert.True(File.Exists(path), $"exit {code}\n{output}\n{err}");
        Assert.Empty(ResultSchema.Validate(File.ReadAllText(path)));
        ResultDocument doc = ResultReader.ReadDocument(path);
        MachineSpeed.AssertValidButForSampleCounts(doc, code, $"{output}\n{err}");
        AgentRunReport a = doc.Agents!;
        Assert.True(a.Turns > 0);
        Assert.True(a.LlmBusyFraction > 0 && a.LlmBusyFraction <= 1, $"busy {a.LlmBusyFraction}");
        Assert.True(a.LlmActiveFraction >= a.LlmBusyFraction - 1e-9);
        Assert.True(a.ToolShareOfTurnTime > 0);
        Assert.Equal("openai", ((JsonElement)doc.Config["llm_backend"]!).GetString());

        // Each agent's later steps repeat its earlier messages (the whole conversation): some request's
        // messages begin with another request's messages and add its reply and the tool's output.
        List<string[]> conversations = _server.Bodies.Select(b => b.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("content").GetString()!).ToArray()).ToList();
        Assert.Contains(conversations, later => later.Length >= 4 && conversations.Any(earlier => earlier.Length >= 2 && earlier.Length < later.Length && later.Take(earlier.Length).SequenceEqual(earlier)));
        Assert.Contains(conversations, c => c.Any(m => m.StartsWith("[grep output]", StringComparison.Ordinal) || m.StartsWith("[json output]", StringComparison.Ordinal)));
        Assert.Contains(conversations, c => c.Any(m => m.Contains(" tok0", StringComparison.Ordinal))); // the server's own reply, threaded back
        // Every agent shares one system prompt, as a real agent's is.
        Assert.Single(conversations.Select(c => c[0]).Distinct());
    }

    /// <remarks>
    /// Each point warms up 1 s and measures 2 s: with 0.2 s and 1 s, a fresh-clone CI run (test assemblies in parallel on
    /// 2 cores) once measured a first point in which no LLM request was in flight at all (JIT and start-up under load).
    /// </remarks>
    [Fact]
    public void Agents_sweep_over_http_projects_cores_with_the_endpoints_measured_service()
    {
        string path = Path.Combine(_dir.Path, "sweep.json");
        (int code, string output, string err) = GenerateOverHttpTests.Run(
            "agents", "sweep", "--profile", Profile, "--workers", "1,2", "--duration", "2s", "--warmup", "1s",
            "--llm", $"openai:{_server.BaseUrl}", "--out", path);

        Assert.True(code == 0, $"exit {code}\n{output}\n{err}");
        AgentSweepDocument doc = AgentSweepJson.Read(path);
        Assert.Equal(2, doc.Points.Count);
        Assert.All(doc.Points, p => Assert.True(p.LlmBusyFraction > 0));
        Assert.NotNull(doc.CoresPerGpuBasis);
        // The projection runs on the server's own speed, measured in this sweep, not on a latency model's presets.
        Assert.NotNull(doc.Projection);
        Assert.StartsWith("the endpoint's measured service in this sweep", doc.Projection!.LlmSource, StringComparison.Ordinal);
    }

    [Fact]
    public void A_failed_request_fails_its_turn_with_the_reason_and_the_agents_go_on()
    {
        int calls = 0;
        _server.Handler = async (ctx, body) =>
        {
            if (Interlocked.Increment(ref calls) % 3 == 0)
            {
                ctx.Response.StatusCode = 503;
                await Microsoft.AspNetCore.Http.HttpResponseWritingExtensions.WriteAsync(ctx.Response, """{"error":{"message":"no free KV blocks"}}""");
                return;
            }

            await _model.Handle(ctx, body);
        };
        string path = Path.Combine(_dir.Path, "failing.json");
        (int code, string output, string err) = GenerateOverHttpTests.Run(
            "run", "agents", "--profile", Profile, "--workers", "1", "--duration", "4s", "--warmup", "0.3s", "--min-turns", "1",
            "--max-error-rate", "1", "--llm", $"openai:{_server.BaseUrl}", NoisyMachine, "--out", path);

        Assert.True(File.Exists(path), $"exit {code}\n{output}\n{err}");
        ResultDocument doc = ResultReader.ReadDocument(path);
        // Failed turns within --max-error-rate do not make the run invalid; how many turns fit in 2 s is this machine's speed.
        MachineSpeed.AssertValidButForSampleCounts(doc, code, $"{output}\n{err}");
        Assert.True(doc.Agents!.TurnsFailed > 0);
        Assert.True(doc.Agents!.Turns > doc.Agents!.TurnsFailed);
        Assert.Contains(doc.Errors, e => e.Message.StartsWith("llm: HTTP 503", StringComparison.Ordinal) && e.Message.Contains("no free KV blocks", StringComparison.Ordinal));
    }

    /// <summary>A context-length error in harness serve's words, for a prompt and a completion of these many tokens.</summary>
    private static Task ContextError(Microsoft.AspNetCore.Http.HttpContext ctx, int context, int prompt, int completion)
    {
        ctx.Response.StatusCode = 400;
        string message = $"This model's maximum context length is {context} tokens. However, you requested {prompt + completion} tokens "
            + $"({prompt} in the messages, {completion} for the completion). Please reduce the length of the messages or the completion.";
        return Microsoft.AspNetCore.Http.HttpResponseWritingExtensions.WriteAsync(
            ctx.Response,
            JsonSerializer.Serialize(new { error = new { message, type = "invalid_request_error", code = "context_length_exceeded" } }));
    }

    /// <summary>Tokens of a chat request as the test server counts them: a word is a token, and each message adds 4.</summary>
    private static int Tokens(JsonElement body) =>
        body.GetProperty("messages").EnumerateArray()
            .Sum(m => 4 + m.GetProperty("content").GetString()!.Split((char[])[' ', '\n'], StringSplitOptions.RemoveEmptyEntries).Length);

    [Fact]
    public void A_server_whose_models_say_a_short_context_is_refused_with_both_numbers_before_any_step()
    {
        _server.MaxModelLen = 256;
        _server.Handler = _model.Handle;
        (int code, string output, string err) = GenerateOverHttpTests.Run(
            "run", "agents", "--profile", Profile, "--workers", "1", "--duration", "2s", "--warmup", "0s",
            "--llm", $"openai:{_server.BaseUrl}", "--out", Path.Combine(_dir.Path, "refused.json"));

        Assert.True(code == 2, $"exit {code}\n{output}\n{err}");
        // 100 + 3 x (3 + 8192) + 3: the conversation grows by each turn's step and tool output (at most 8192 tokens).
        Assert.Contains("its requests reach 24688 tokens", err, StringComparison.Ordinal);
        Assert.Contains("(max_model_len of test-model in /models) is 256 tokens", err, StringComparison.Ordinal);
        Assert.Equal(0, _server.Completions);
        Assert.False(File.Exists(Path.Combine(_dir.Path, "refused.json")));
    }

    [Fact]
    public void Without_max_model_len_the_first_context_error_ends_the_run_with_both_numbers()
    {
        _server.Handler = (ctx, body) => ContextError(ctx, 64, Tokens(body), body.GetProperty("max_tokens").GetInt32());
        (int code, string output, string err) = GenerateOverHttpTests.Run(
            "run", "agents", "--profile", Profile, "--workers", "1", "--duration", "20s", "--warmup", "0s",
            "--llm", $"openai:{_server.BaseUrl}", "--out", Path.Combine(_dir.Path, "first-400.json"));

        Assert.True(code == 2, $"exit {code}\n{output}\n{err}");
        Assert.Contains("64 tokens of context", err, StringComparison.Ordinal);
        Assert.Contains("its requests reach 24688 tokens", err, StringComparison.Ordinal);
        Assert.InRange(_server.Completions, 1, 3); // the agents' first steps (3 agents), none retried
    }

    [Fact]
    public void A_server_that_answers_every_step_with_400_gets_no_storm_and_no_busy_time()
    {
        _server.Handler = async (ctx, _) =>
        {
            ctx.Response.StatusCode = 400;
            const string body = """{"error":{"message":"logit_bias: not supported"}}""";
            await Microsoft.AspNetCore.Http.HttpResponseWritingExtensions.WriteAsync(ctx.Response, body);
        };
        string path = Path.Combine(_dir.Path, "all-400.json");
        (int code, string output, string err) = GenerateOverHttpTests.Run(
            "run", "agents", "--profile", Profile, "--workers", "1", "--duration", "3s", "--warmup", "0.3s",
            "--llm", $"openai:{_server.BaseUrl}", "--out", path);

        Assert.True(File.Exists(path), $"exit {code}\n{output}\n{err}");
        Assert.Equal(1, code);
        ResultDocument doc = ResultReader.ReadDocument(path);
        // Each agent waits 0.5-1 s, then 1-2 s, then 2-4 s after its failures: in 3.3 s at most 4 steps each
        // (a server answering in 1 ms would have got thousands without the wait).
        Assert.InRange(_server.Completions, 3, 3 * 4);
        Assert.Equal(0, doc.Agents!.LlmBusyFraction);
        Assert.Equal(0, doc.Agents!.LlmActiveFraction);
        Assert.True(doc.Agents!.LlmStepsFailed > 0);
        Assert.Contains(doc.Errors, e => e.Message.Contains("logit_bias: not supported", StringComparison.Ordinal));
    }

    [Fact]
    public void Truncate_oldest_keeps_every_request_within_the_servers_context()
    {
        const int context = 200;
        _server.MaxModelLen = context;
        int over = 0;
        _server.Handler = (ctx, body) =>
        {
            int prompt = Tokens(body), completion = body.GetProperty("max_tokens").GetInt32();
            if (prompt + completion > context)
            {
                Interlocked.Increment(ref over);
                return ContextError(ctx, context, prompt, completion);
            }

            return _model.Handle(ctx, body);
        };
        string path = Path.Combine(_dir.Path, "truncated.json");
        (int code, string output, string err) = GenerateOverHttpTests.Run(
            "run", "agents", "--profile", Profile, "--workers", "1", "--duration", "3s", "--warmup", "0.3s", "--min-turns", "1",
            "--llm", $"openai:{_server.BaseUrl}", "--llm-set", "context=truncate-oldest", "--out", path);

        Assert.True(File.Exists(path), $"exit {code}\n{output}\n{err}");
        ResultDocument doc = ResultReader.ReadDocument(path);
        Assert.Equal(0, over);
        Assert.True(_server.Completions > 3);
        Assert.Equal("truncate-oldest", ((JsonElement)doc.Config["context_policy"]!).GetString());
        Assert.Equal(context, ((JsonElement)doc.Config["llm_context_tokens"]!).GetInt32());
        AgentContextReport c = doc.Agents!.Context!;
        Assert.Equal(("truncate-oldest", context), (c.Policy, c.ContextTokens));
        Assert.True(c.TrimmedSteps > 0 && c.DroppedMessages + c.CutMessages > 0, $"{c.TrimmedSteps} trimmed, {c.DroppedMessages} dropped");
        Assert.Equal(0, c.ContextErrors);
        Assert.True(doc.Agents!.Turns > 0);
    }
}
