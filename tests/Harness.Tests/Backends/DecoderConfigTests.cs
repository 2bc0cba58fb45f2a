using Harness.Backends;
using Harness.Models;

namespace Harness.Tests.Backends;

public class DecoderConfigTests
{
    private const string Valid = """
        { "name": "x", "architecture": "llama", "hidden": 64, "intermediate": 128, "layers": 2,
          "heads": 4, "kv_heads": 2, "vocab": 100, "max_positions": 64 }
        """;

    [Theory]
    [InlineData("gpt2-124m")]
    [InlineData("llama-1b")]
    [InlineData("qwen2.5-0.5b")]
    [InlineData("llama-8b")]
    [InlineData("llama-70b")]
    [InlineData("gpt-oss-120b")]
    [InlineData("gpt-oss-20b")]
    [InlineData("gpt2-dispatch-probe")]
    [InlineData("llama-dispatch-probe")]
    public void Shipped_configs_load_and_validate(string name)
    {
        DecoderConfig c = ModelCatalog.Load(name);
        Assert.Equal(name, c.Name);
        Assert.False(string.IsNullOrWhiteSpace(c.Source));
        Assert.EndsWith(name + ".json", c.Path);
    }

    [Fact]
    public void Tiny_llama_has_the_published_TinyLlama_shape()
    {
        DecoderConfig c = ModelCatalog.Load("llama-1b");
        Assert.Equal((2048, 5632, 22, 32, 4, 32000), (c.Hidden, c.Intermediate, c.Layers, c.Heads, c.KvHeads, c.Vocab));
        Assert.Equal(DecoderArchitecture.Llama, c.Architecture);
        Assert.Equal(64, c.HeadDim);
    }

    [Fact]
    public void Gpt_oss_120b_has_the_published_shape_and_is_for_planning_only()
    {
        DecoderConfig c = ModelCatalog.Load("gpt-oss-120b");
        Assert.Equal((2880, 36, 64, 8, 64, 201088), (c.Hidden, c.Layers, c.Heads, c.KvHeads, c.HeadDim, c.Vocab));
        Assert.Equal((128, 4, 2880, 36), (c.Experts, c.ExpertsPerToken, c.ExpertWidth, c.MoeLayers));
        Assert.Equal((128, 18), (c.SlidingWindow, c.SlidingWindowLayers));
        Assert.True(c.PlanningOnly);
        Assert.Equal("a mixture of experts", c.UnbuiltFeature);
    }

    [Fact]
    public void Dense_shapes_keep_their_hash_when_expert_fields_exist()
    {
        // The cache folders of generated ONNX models are named by this hash: it must not move.
        DecoderConfig c = ModelCatalog.Parse(Valid);
        DecoderConfig explicitDense = ModelCatalog.Parse(Valid.Replace("\"max_positions\": 64", "\"max_positions\": 64, \"experts\": 0, \"sliding_window\": 0"));
        Assert.Equal(c.ShapeHash(), explicitDense.ShapeHash());
        Assert.Null(c.UnbuiltFeature);
    }

    [Theory]
    [InlineData("\"experts\": 8, \"experts_per_token\": 9, \"planning_only\": true", "experts_per_token must be between 1 and experts (8)")]
    [InlineData("\"experts\": 8, \"experts_per_token\": 2", "must set planning_only: true")]
    [InlineData("\"experts_per_token\": 2", "need experts > 0")]
    [InlineData("\"experts\": 8, \"experts_per_token\": 2, \"dense_layers\": 2, \"planning_only\": true", "dense_layers (2) must leave at least one")]
    [InlineData("\"sliding_window\": 16", "go together")]
    [InlineData("\"head_dim\": 32", "must set planning_only: true")]
    public void Expert_fields_are_checked_in_one_sentence(string fields, string expected)
    {
        var e = Assert.Throws<HarnessException>(() => ModelCatalog.Parse(Valid.Replace("\"max_positions\": 64", "\"max_positions\": 64, " + fields)));
        Assert.Equal(ExitCodes.BadInput, e.ExitCode);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Heads_must_divide_hidden()
    {
        var e = Assert.Throws<HarnessException>(() => ModelCatalog.Parse(Valid.Replace("\"heads\": 4", "\"heads\": 5")));
        Assert.Equal(ExitCodes.BadInput, e.ExitCode);
        Assert.Contains("heads (5) must divide hidden (64)", e.Message);
    }

    [Fact]
    public void Kv_heads_must_divide_heads()
    {
        var e = Assert.Throws<HarnessException>(() => ModelCatalog.Parse(Valid.Replace("\"kv_heads\": 2", "\"kv_heads\": 3")));
        Assert.Contains("kv_heads (3) must divide heads (4)", e.Message);
    }

    [Theory]
    [InlineData("\"layers\": 2", "\"layers\": 0", "layers must be a positive integer")]
    [InlineData("\"architecture\": \"llama\"", "\"architecture\": \"mamba\"", "not valid")]
    [InlineData("\"vocab\": 100", "\"vocab\": 100, \"vocabulary\": 5", "not valid")]
    public void Bad_fields_are_one_sentence(string from, string to, string expected)
    {
        var e = Assert.Throws<HarnessException>(() => ModelCatalog.Parse(Valid.Replace(from, to)));
        Assert.Contains(expected, e.Message);
        Assert.Equal(ExitCodes.BadInput, e.ExitCode);
    }

    [Fact]
    public void Unknown_config_names_the_known_ones()
    {
        var e = Assert.Throws<HarnessException>(() => ModelCatalog.Load("gpt5-1t"));
        Assert.Contains("Unknown model config 'gpt5-1t'", e.Message);
        Assert.Contains("llama-1b", e.Message);
    }

    [Fact]
    public void A_user_file_loads_by_path_without_code_changes()
    {
        string path = Path.Combine(Path.GetTempPath(), $"my-model-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, Valid.Replace("\"name\": \"x\"", "\"name\": \"my-model\""));
        try
        {
            DecoderConfig c = ModelCatalog.Load(path);
            Assert.Equal("my-model", c.Name);
            Assert.Equal(path, c.Path);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Shape_hash_ignores_name_and_source_but_not_shape()
    {
        DecoderConfig a = ModelCatalog.Parse(Valid);
        Assert.Equal(a.ShapeHash(), (a with { Name = "y", Source = "z" }).ShapeHash());
        Assert.NotEqual(a.ShapeHash(), (a with { Layers = 3 }).ShapeHash());
    }
}
