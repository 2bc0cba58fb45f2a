using Harness.Agents.Jobs;
using Harness.Agents.Native;
using Harness.Agents.Profiles;
using Harness.Agents.Tools;

namespace Harness.Agents.Tests.Tools;

/// <summary>sql, tokenize and embed give known outputs for a seed; the shipped profiles fit the tools.</summary>
public sealed class NativeToolsTests : IClassFixture<NativeToolsTests.Prepared>
{
    private readonly Prepared _p;

    public NativeToolsTests(Prepared prepared) => _p = prepared;

    [Fact]
    public void Sql_answers_known_queries()
    {
        Assert.Equal(
            "aggregate over orders 191228..192227\n" +
            "books | 174 | 43862.78 | 252.08\nfood | 180 | 45290.77 | 251.62\ngarden | 164 | 40292.72 | 245.69\n" +
            "music | 180 | 47531.44 | 264.06\ntools | 170 | 45180.31 | 265.77\ntoys | 132 | 33334.07 | 252.53\n(6 rows)\n",
            _p.Call("sql", "aggregate", "rows", 1000));
        string join = _p.Call("sql", "join", "rows", 500);
        Assert.StartsWith("join over orders 191420..191919\nsouth | 1 | 46 | 12050.83\n", join);
        Assert.EndsWith("(15 rows)\n", join);
    }

    [Fact]
    public void Tokenize_counts_known_tokens()
    {
        Assert.Equal("cl100k: 5707 tokens in 16384 characters (2.87 chars/token), checksum b2782d8a", _p.Call("tokenize", "cl100k", "input_kb", 16));
        Assert.Equal("gpt2: 6436 tokens in 16384 characters (2.55 chars/token), checksum 2a13a0b3", _p.Call("tokenize", "gpt2", "input_kb", 16));
    }

    [Fact]
    public void Embed_runs_minilm_and_returns_the_seeded_passages()
    {
        string output = _p.Call("embed", null, "sentences", 16, ("top_k", 2), ("passage_chars", 40));
        Assert.StartsWith("embedded 16 texts in 2 batches of 8 (384 dimensions); top 2 passages:\n[1]             def func_request_912(self, d\n[2] 2026-03-01T14:07:23.183Z INFO  api-11 id\n", output);
    }

    [Theory]
    [InlineData("coding-agent")]
    [InlineData("rag")]
    [InlineData("data-analysis")]
    public void Shipped_profiles_load_and_fit_the_tools(string name)
    {
        AgentProfile profile = AgentProfileLoader.Load(Path.Combine(AppContext.BaseDirectory, AgentProfileLoader.Folder, name + ".json"));
        using ToolSet tools = AgentToolSets.Full();
        tools.Validate(profile);
        Assert.NotEmpty(profile.Sources);
        Assert.All(new[] { "turns", "decode_tokens", "tools" }, k => Assert.True(profile.Sources.ContainsKey(k), $"{name} has no source for {k}"));
        Assert.InRange(profile.MeanTurnsPerJob, 2, 200);
    }

    public sealed class Prepared : IDisposable
    {
        private readonly ToolEnvironment _environment;

        public Prepared()
        {
            AgentProfile profile = AgentProfileLoader.Parse(System.Text.Json.JsonDocument.Parse("""
                { "name": "t", "turns": 1, "initial_prompt_tokens": 1, "decode_tokens": 1,
                  "tools": [ { "tool": "sql" }, { "tool": "embed" }, { "tool": "tokenize", "variants": { "cl100k": 1, "gpt2": 1 } } ] }
                """).RootElement, null);
            Tools = AgentToolSets.Full();
            _environment = new ToolEnvironment(profile, 2, 42);
            Tools.Prepare(_environment);
        }

        public ToolSet Tools { get; }

        public string Call(string tool, string? variant, string arg, double value, params (string Name, double Value)[] more)
        {
            var args = new Dictionary<string, double> { [arg] = value };
            foreach ((string n, double v) in more)
            {
                args[n] = v;
            }

            return Tools.Get(tool).Invoke(new ToolCallPlan(tool, variant, args, 7), new ToolContext(0, CancellationToken.None)).Text;
        }

        public void Dispose()
        {
            Tools.Dispose();
            _environment.Dispose();
        }
    }
}
