using System.Text.Json;
using System.Text.Json.Nodes;
using Harness.Agents.Reporting;
using Harness.Decoding;
using Harness.Results;
using Harness.Tests.Fakes;

namespace Harness.Tests.Results;

/// <summary>Sections a higher layer owns, kept by the results layer without knowing their types.</summary>
public class ResultSectionTests
{
    [Fact]
    public void The_llm_and_agents_layers_register_their_sections_under_the_keys_of_the_file()
    {
        Assert.Equal("serving", ResultSections.KeyOf<ServingReport>());
        Assert.Equal("agents", ResultSections.KeyOf<AgentRunReport>());
        Assert.Throws<InvalidOperationException>(() => ResultSections.KeyOf<string>());
    }

    [Fact]
    public void A_section_round_trips_through_write_and_read_under_its_key_and_in_its_own_shape()
    {
        var hardware = Harness.Hardware.HardwareProbe.Probe(new Dictionary<string, string?>(), FakeNvml.Missing);
        ResultDocument doc = ResultBuilder.Build(Runs.Fake(tokens: 4), "generate", "openai:http://127.0.0.1:8000/v1", hardware);
        var serving = new ServingReport { Endpoint = "http://127.0.0.1:8000/v1", Model = "m", RequestsOk = 7, OutputTokensServer = 28 };
        serving.ConnectionRetries["reset before the response"] = 2;
        doc.Serving = serving;
        string json = ResultJson.Serialize(doc);
        Assert.Empty(ResultSchema.Validate(json));

        // The section sits at the top of the file, exactly as the typed property wrote it.
        JsonNode written = JsonNode.Parse(json)!["serving"]!;
        Assert.True(JsonNode.DeepEquals(JsonSerializer.SerializeToNode(serving, ResultJson.Options), written));

        using var dir = new TempDir();
        string path = Path.Combine(dir.Path, "r.json");
        AtomicFile.WriteAllText(path, json);
        ResultDocument back = ResultReader.ReadDocument(path);
        ServingReport read = Assert.IsType<ServingReport>(back.Serving);
        Assert.Equal(("m", 7L, 28L), (read.Model, read.RequestsOk, read.OutputTokensServer));
        Assert.Equal(2L, read.ConnectionRetries["reset before the response"]);
        Assert.Same(read, back.Serving);
        Assert.Null(back.Agents);

        read.RequestsOk = 8;
        Assert.Equal(8, JsonNode.Parse(ResultJson.Serialize(back))!["serving"]!["requests_ok"]!.GetValue<long>());
        back.Serving = null;
        Assert.Null(JsonNode.Parse(ResultJson.Serialize(back))!["serving"]);
    }

    [Fact]
    public void An_unknown_section_in_a_file_is_kept_as_read_and_written_again()
    {
        ResultDocument doc = ResultBuilder.Build(Runs.Fake(), "fake", "onnx:cpu", null);
        JsonObject node = JsonNode.Parse(ResultJson.Serialize(doc))!.AsObject();
        node["future_section"] = new JsonObject { ["answer"] = 42, ["items"] = new JsonArray(1, 2) };
        using var dir = new TempDir();
        string path = Path.Combine(dir.Path, "r.json");
        AtomicFile.WriteAllText(path, node.ToJsonString());

        ResultDocument back = ResultReader.ReadDocument(path);

        Assert.False(ResultSections.IsKnown("future_section"));
        Assert.True(back.Sections!.ContainsKey("future_section"));
        JsonNode again = JsonNode.Parse(ResultJson.Serialize(back))!["future_section"]!;
        Assert.True(JsonNode.DeepEquals(node["future_section"], again));
        Assert.Null(back.Serving);
    }

    [Fact]
    public void A_section_of_a_workload_goes_into_the_document_built_from_its_measurement()
    {
        var serving = new ServingReport { Endpoint = "http://127.0.0.1:1/v1", RequestsOk = 3 };
        MeasurementResult run = MeasurementResult.FromEngine(Runs.Fake(), [ResultSection.Of(serving)]);

        ResultDocument doc = ResultBuilder.Build(run, "generate", "openai:http://127.0.0.1:1/v1", null);

        Assert.Same(serving, doc.Serving);
        Assert.Equal("serving", Assert.Single(doc.Sections!.Keys));
    }
}
