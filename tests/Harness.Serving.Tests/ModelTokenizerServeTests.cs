using System.Net;
using System.Text.Json;
using Harness.Backends;
using Harness.Models;
using Harness.Models.Formats;
using Harness.Tokenization;

namespace Harness.Serving.Tests;

/// <summary>
/// <c>harness serve --model FILE</c> of a model whose tokenizer is SentencePiece-style (written by export): the
/// server tokenizes with it, begin-of-text first, and the usage it reports is the prompt's length in that tokenizer.
/// </summary>
public sealed class ModelTokenizerServeTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("harness-spm-serve-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Usage_counts_the_prompt_in_the_models_sentencepiece_tokenizer()
    {
        DecoderConfig c = ModelCatalog.Load("tiny-llama-test") with { Vocab = 512 };
        string path = Path.Combine(_dir, "spm.gguf");
        using (var weights = new WeightGenerator(1234, c.Layers))
        {
            ModelExport.Write(c, TensorDType.Float32, ExportFormat.Gguf, path, weights, tokenizer: ExportTokenizer.Spm);
        }

        (TextTokenizer? t, string note) = ModelTokenizer.Read(path);
        Assert.True(t is not null, note);
        using ChildServer server = await ChildServer.StartAsync("--backend", "onnx:cpu", "--model", path, "--threads", "1");
        Assert.Contains("SentencePiece", server.Output);

        const string user = "Hello there, how are the tokens counted?";
        HttpResponseMessage r = await server.Http.PostAsync("/v1/chat/completions", Api.Json(new
        {
            model = "spm",
            messages = new[] { new { role = "user", content = user } },
            max_tokens = 2,
            ignore_eos = true,
        }));
        string body = await r.Content.ReadAsStringAsync();
        Assert.True(r.StatusCode == HttpStatusCode.OK, body);
        int expected = t.EncodePrompt(ChatTemplate.Render([new ChatMessage("user", user)])).Count;
        Assert.Equal(1 + t.Encode(ChatTemplate.Render([new ChatMessage("user", user)])).Count, expected);
        Assert.Equal(expected, JsonDocument.Parse(body).RootElement.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());

        r = await server.Http.PostAsync(
            "/v1/completions", Api.Json(new { model = "spm", prompt = user, max_tokens = 2, ignore_eos = true }));
        body = await r.Content.ReadAsStringAsync();
        Assert.True(r.StatusCode == HttpStatusCode.OK, body);
        Assert.Equal(1 + t.Count(user), JsonDocument.Parse(body).RootElement.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
    }
}
