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
            "--llm", $"openai:{_server.BaseUrl}", "--allow-noisy", "--out", path); // a shared machine: not what this tests

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

    [Fact]
    public void Agents_sweep_over_http_projects_cores_with_the_endpoints_measured_service()
    {
        string path = Path.Combine(_dir.Path, "sweep.json");
        (int code, string output, string err) = GenerateOverHttpTests.Run(
            "agents", "sweep", "--profile", Profile, "--workers", "1,2", "--duration", "1s", "--warmup", "0.2s",
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
            "--max-error-rate", "1", "--llm", $"openai:{_server.BaseUrl}", "--allow-noisy", "--out", path);

        Assert.True(File.Exists(path), $"exit {code}\n{output}\n{err}");
        ResultDocument doc = ResultReader.ReadDocument(path);
        // Failed turns within --max-error-rate do not make the run invalid; how many turns fit in 2 s is this machine's speed.
        MachineSpeed.AssertValidButForSampleCounts(doc, code, $"{output}\n{err}");
        Assert.True(doc.Agents!.TurnsFailed > 0);
        Assert.True(doc.Agents.Turns > doc.Agents.TurnsFailed);
        Assert.Contains(doc.Errors, e => e.Message.StartsWith("llm: HTTP 503", StringComparison.Ordinal) && e.Message.Contains("no free KV blocks", StringComparison.Ordinal));
    }
}
