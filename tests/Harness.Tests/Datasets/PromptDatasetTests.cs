using Harness.Datasets;
using Harness.Engine.Scenarios;
using Harness.Tests.Fakes;

namespace Harness.Tests.Datasets;

public class PromptDatasetTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Counts words: the stand-in tokenizer these tests need (the real one is tested with the client).</summary>
    private sealed class WordCounter : ITokenCounter
    {
        public string Name => "words";

        public int Count(string text) => text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
    }

    /// <summary>Merges every pair of words into one token: the word count must be corrected to reach a length.</summary>
    private sealed class PairCounter : ITokenCounter
    {
        public string Name => "pairs";

        public int Count(string text) => (text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length + 1) / 2;
    }

    [Fact]
    public void Synthetic_prompts_have_the_asked_lengths_differ_from_each_other_and_repeat_with_the_seed()
    {
        PromptDataset d = PromptDataset.Parse("synthetic:in=64,out=16", seed: 7, new PairCounter());

        PromptItem a = d.Item(0), b = d.Item(1);
        Assert.Equal(64, new PairCounter().Count(a.Messages[0].Content));
        Assert.Equal((64, 16), (a.InputTokens, a.OutputTokens));
        Assert.NotEqual(a.Messages[0].Content[..20], b.Messages[0].Content[..20]);
        Assert.Equal(a.Messages[0].Content, PromptDataset.Parse("synthetic:in=64,out=16", 7, new PairCounter()).Item(0).Messages[0].Content);
        Assert.True(d.Exact);
    }

    [Fact]
    public void Synthetic_lengths_spread_with_their_deviation_and_without_a_tokenizer_are_words()
    {
        PromptDataset d = PromptDataset.Parse("synthetic:in=100,out=50,in_std=20,out_std=10", 1, null);
        var inputs = Enumerable.Range(0, 400).Select(i => d.Item(i).InputTokens).ToList();

        Assert.InRange(inputs.Average(), 95, 105);
        Assert.True(inputs.Distinct().Count() > 10);
        Assert.Equal(d.Item(3).InputTokens, new WordCounter().Count(d.Item(3).Messages[0].Content));
        Assert.False(d.Exact);
    }

    [Theory]
    [InlineData("synthetic:in=0", "in=0 must be a number of at least 1")]
    [InlineData("synthetic:size=3", "unknown setting 'size'")]
    [InlineData("sharegpt:/no/such/file.json", "does not exist")]
    [InlineData("wiki:x", "is not one of")]
    public void Bad_specs_are_one_sentence(string spec, string part)
    {
        var e = Assert.Throws<HarnessException>(() => PromptDataset.Parse(spec, 1, null));
        Assert.Contains(part, e.Message, StringComparison.Ordinal);
        Assert.Equal(2, e.ExitCode);
    }

    [Fact]
    public void ShareGpt_gives_first_turns_or_every_turn_with_its_history()
    {
        string file = Path.Combine(_dir.Path, "sg.json");
        File.WriteAllText(file, """
            [ { "id": "1", "conversations": [ { "from": "human", "value": "one two three" }, { "from": "gpt", "value": "four five" },
                                              { "from": "human", "value": "six" }, { "from": "gpt", "value": "seven eight nine ten" } ] },
              { "id": "2", "conversations": [ { "from": "human", "value": "alone" } ] } ]
            """);

        PromptDataset first = PromptDataset.Parse($"sharegpt:{file}", 1, new WordCounter());
        Assert.Equal(1, first.Count);
        Assert.Equal(("one two three", 3, 2), (first.Item(0).Messages.Single().Content, first.Item(0).InputTokens, first.Item(0).OutputTokens));

        PromptDataset all = PromptDataset.Parse($"sharegpt:{file},turns=all", 1, new WordCounter());
        Assert.Equal(2, all.Count);
        PromptItem second = all.Item(1);
        Assert.Equal(["user", "assistant", "user"], second.Messages.Select(m => m.Role));
        Assert.Equal((6, 4), (second.InputTokens, second.OutputTokens));
    }

    [Fact]
    public void Trace_blocks_with_the_same_hash_get_the_same_text_and_sessions_follow_their_previous_turn()
    {
        string file = Path.Combine(_dir.Path, "trace.jsonl");
        File.WriteAllText(file, """
            {"timestamp": 0, "input_length": 10, "output_length": 3, "hash_ids": [1, 2, 3]}
            {"timestamp": 500, "input_length": 7, "output_length": 2, "hash_ids": [1, 2]}
            {"timestamp": 800, "input_length": 4, "output_length": 5, "session_id": "s", "hash_ids": [9]}
            {"session_id": "s", "delay": 250, "input_length": 3, "output_length": 1}
            """);

        var trace = (MooncakeTrace)PromptDataset.Parse($"trace:{file},block=4", 1, new WordCounter());

        string a = trace.Item(0).Messages[0].Content, b = trace.Item(1).Messages[0].Content;
        Assert.Equal(10, new WordCounter().Count(a));
        Assert.Equal(7, new WordCounter().Count(b));
        Assert.StartsWith(b[..^1], a, StringComparison.Ordinal); // blocks 1 and 2 are the same text, the third is cut
        Assert.Equal(2, trace.SharedBlocks);
        Assert.Equal([0, 0.5, 0.8, (double?)null], trace.Items.Select(i => i.ArrivalS));
        Assert.Equal(0.25, trace.Item(3).DelayS);
        Assert.True(trace.HasSchedule);

        IReadOnlyList<TraceArrival> arrivals = TraceFile.Read(file).Arrivals;
        Assert.Equal(trace.Arrivals(), arrivals);
        var scenario = new TraceScenario(arrivals, speedup: 2);
        Assert.Equal([(0, 0.0), (1, 0.25), (2, 0.4)], scenario.FixedArrivals());
        Assert.Equal("trace:x2", scenario.Name);
    }

    [Fact]
    public void A_trace_is_read_once_for_its_schedule_and_its_prompts()
    {
        string file = Path.Combine(_dir.Path, "once.jsonl");
        File.WriteAllText(file, """
            {"timestamp": 0, "input_length": 8, "output_length": 3, "hash_ids": [1, 2]}
            {"timestamp": 100, "input_length": 8, "output_length": 3, "hash_ids": [1, 3]}
            """);
        int reads = 0;
        IEnumerable<string> Lines(string path)
        {
            reads++;
            return File.ReadLines(path);
        }

        TraceFile trace = TraceFile.Read(file, Lines);
        IReadOnlyList<TraceArrival> schedule = trace.Arrivals;
        MooncakeTrace a = MooncakeTrace.Build("trace:x", trace, 4, seed: 1, new WordCounter());
        MooncakeTrace b = MooncakeTrace.Build("trace:x", trace, 4, seed: 2, new WordCounter());

        Assert.Equal(1, reads);
        Assert.Equal(schedule, a.Arrivals());
        Assert.Equal(1, a.SharedBlocks);
        Assert.NotEqual(a.Item(0).Messages[0].Content, b.Item(0).Messages[0].Content);
    }

    [Fact]
    public void A_trace_line_without_a_time_or_session_is_bad_input_with_its_line()
    {
        string file = Path.Combine(_dir.Path, "bad.jsonl");
        File.WriteAllText(file, "{\"timestamp\": 0, \"input_length\": 1, \"output_length\": 1}\n{\"input_length\": 1, \"output_length\": 1}\n");

        var e = Assert.Throws<HarnessException>(() => TraceFile.Read(file));
        Assert.Contains("line 2 has no timestamp", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_shipped_example_datasets_load()
    {
        string dir = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(dir, "Harness.sln")))
        {
            dir = Path.GetDirectoryName(dir) ?? throw new InvalidOperationException("the repository root was not found above the test's folder");
        }

        string examples = Path.Combine(dir, "models", "datasets");
        Assert.Equal(5, PromptDataset.Parse($"sharegpt:{Path.Combine(examples, "sharegpt-example.json")},turns=all", 1, null).Count);
        var trace = (MooncakeTrace)PromptDataset.Parse($"trace:{Path.Combine(examples, "mooncake-example.jsonl")}", 1, null);
        Assert.Equal(46, trace.Count);
        Assert.True(trace.SharedBlocks > 40);
        Assert.Equal(2, trace.Items.Select(i => i.Session).OfType<string>().Distinct().Count());
    }
}
