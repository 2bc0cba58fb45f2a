using System.ClientModel;
using System.Diagnostics;
using System.Text.Json;
using OpenAI;
using OpenAI.Chat;

namespace Harness.Serving.Tests;

/// <summary>
/// Clients written by others against <c>harness serve</c> on gpt2-124m (onnx:cpu): the official
/// OpenAI .NET SDK (a streamed chat and a whole one; the .NET SDK has no legacy completions client)
/// and the official openai npm package run by node (a streamed chat, a completion and a streamed
/// completion). The usage each reports equals the tokens it was streamed.
/// </summary>
public class SdkTests
{
    [Fact]
    public async Task The_official_dotnet_sdk_streams_a_chat_and_completes_one()
    {
        await using InProcessServer s = await InProcessServer.StartAsync(model: "gpt2-124m");
        var client = new ChatClient("gpt2-124m", new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(s.Address, "/v1") });
        var options = new ChatCompletionOptions { MaxOutputTokenCount = 10 };
        ChatMessage[] messages = [new SystemChatMessage("You are terse."), new UserChatMessage("Name a colour.")];

        int tokens = 0;
        ChatTokenUsage? usage = null;
        ChatFinishReason? finish = null;
        var text = new System.Text.StringBuilder();
        await foreach (StreamingChatCompletionUpdate update in client.CompleteChatStreamingAsync(messages, options))
        {
            if (update.Usage is not null)
            {
                usage = update.Usage;
            }

            if (update.FinishReason is not null)
            {
                finish = update.FinishReason;
            }
            else if (update.Usage is null)
            {
                tokens++;
                foreach (ChatMessageContentPart part in update.ContentUpdate)
                {
                    text.Append(part.Text);
                }
            }
        }

        Assert.NotNull(usage);
        Assert.InRange(tokens, 1, 10);
        Assert.Equal(tokens, usage!.OutputTokenCount);
        Assert.True(tokens == 10 ? finish == ChatFinishReason.Length : finish == ChatFinishReason.Stop, $"{tokens} tokens, finish {finish}");

        ChatCompletion whole = await client.CompleteChatAsync(messages, options);
        Assert.Equal(usage.InputTokenCount, whole.Usage.InputTokenCount);
        Assert.Equal(tokens, whole.Usage.OutputTokenCount);
        Assert.Equal(text.ToString(), whole.Content.Count == 0 ? "" : whole.Content[0].Text);
        Assert.Equal(finish, whole.FinishReason);
    }

    [Fact]
    public async Task The_official_npm_sdk_streams_a_chat_and_a_completion()
    {
        string script = Path.Combine(Harness.Testing.Repository.Root, "tests", "Harness.Serving.Tests", "node", "sdk-check.mjs");
        string package = Path.Combine(Path.GetDirectoryName(script)!, "node_modules", "openai", "package.json");
        Assert.True(File.Exists(package), $"the openai npm package is not installed in {Path.GetDirectoryName(script)}: run scripts/serving-test-deps.sh (./run.sh test does)");
        await using InProcessServer s = await InProcessServer.StartAsync(model: "gpt2-124m");
        var psi = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(script);
        psi.ArgumentList.Add(new Uri(s.Address, "/v1").ToString());
        psi.ArgumentList.Add("gpt2-124m");
        using Process node = Process.Start(psi)!;
        Task<string> stdout = node.StandardOutput.ReadToEndAsync();
        Task<string> stderr = node.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await node.WaitForExitAsync(timeout.Token);
        string output = await stdout;
        Assert.True(node.ExitCode == 0, $"node exited {node.ExitCode}: {output}\n{await stderr}");

        JsonElement result = JsonDocument.Parse(output).RootElement;
        JsonElement chat = result.GetProperty("chat");
        Assert.Equal(10, chat.GetProperty("tokens").GetInt32());
        Assert.Equal(10, chat.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.Equal("length", chat.GetProperty("finish").GetString());
        JsonElement completion = result.GetProperty("completion");
        Assert.Equal(7, completion.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.Equal("length", completion.GetProperty("finish").GetString());
        JsonElement streamed = result.GetProperty("streamedCompletion");
        Assert.Equal(7, streamed.GetProperty("tokens").GetInt32());
        Assert.Equal(7, streamed.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        // Greedy: the same prompt gives the same text streamed or not.
        Assert.Equal(completion.GetProperty("text").GetString(), streamed.GetProperty("text").GetString());
    }
}
