using Harness.Cli.Commands;
using Harness.Datasets;
using Harness.Engine.Scenarios;
using Harness.OpenAI;
using Harness.Running;

namespace Harness.Cli.Tests.Commands;

/// <summary>
/// A trace dataset is read once, on the command line: the scenario's schedule and generate's prompts
/// come from that one read, so the run goes on unchanged when the file is gone after parsing.
/// </summary>
public sealed class TraceReadOnceTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("harness-trace-once-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void The_scenario_and_the_workload_share_the_one_read_of_the_trace()
    {
        string file = Path.Combine(_dir, "trace.jsonl");
        File.WriteAllText(file, """
            {"timestamp": 0, "input_length": 8, "output_length": 3, "hash_ids": [1]}
            {"timestamp": 250, "input_length": 6, "output_length": 2, "hash_ids": [1]}
            {"timestamp": 500, "input_length": 4, "output_length": 5}
            """);

        // Port 9 on loopback: nothing listens there, and nothing here connects.
        RunRequest request = RunOptions.ParseArguments(
            $"run generate -b openai:http://127.0.0.1:9/v1 --dataset trace:{file},block=4", "run");
        File.Delete(file);

        var scenario = Assert.IsType<TraceScenario>(request.Settings.Scenario);
        var parsed = Assert.IsType<TraceSpec>(request.Options.Input<DatasetSpec>());
        using var workload = Assert.IsType<EndpointGenerateWorkload>(
            new OpenAiBackendProvider().Create("generate", request.Backend, request.Options));
        Assert.Same(parsed, workload.Spec.Requests.Dataset);
        Assert.Equal(3, scenario.Count);
        Assert.Equal([(0, 0.0), (1, 0.25), (2, 0.5)], scenario.FixedArrivals());
        PromptDataset prompts = workload.Spec.Requests.Dataset.Open(seed: 42, tokenizer: null);
        Assert.Equal([8, 6, 4], Enumerable.Range(0, prompts.Count).Select(i => prompts.Item(i).InputTokens));
    }
}
