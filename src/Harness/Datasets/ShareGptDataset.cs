using System.Text.Json;
using Harness.Metrics;

namespace Harness.Datasets;

/// <summary>
/// ShareGPT conversations (a JSON array of <c>{"conversations": [{"from": "human"|"gpt", "value": ...}]}</c>,
/// or <c>{"messages": [{"role", "content"}]}</c>): by default each conversation's first human turn,
/// asking for as many tokens as its recorded reply; with <c>turns=all</c> every human turn that has a
/// reply, sent with the conversation before it (the recorded replies as assistant messages), so the
/// server sees the prefix reuse of a real chat.
/// </summary>
public sealed class ShareGptDataset : PromptDataset
{
    private readonly List<PromptItem> _items;

    private ShareGptDataset(string spec, List<PromptItem> items, bool exact, bool allTurns)
    {
        Spec = spec;
        _items = items;
        Exact = exact;
        AllTurns = allTurns;
    }

    public override string Spec { get; }

    public override int Count => _items.Count;

    public bool AllTurns { get; }

    public override PromptItem Item(long index) => _items[(int)(index % _items.Count)];

    public override Dictionary<string, object?> Details()
    {
        Dictionary<string, object?> d = base.Details();
        d[ConfigKeys.DatasetTurns] = AllTurns ? "all" : "first";
        d[ConfigKeys.PromptLengths] = Exact ? "counted by the tokenizer" : "estimated at 4 characters per token, checked against the server's usage";
        return d;
    }

    /// <summary>The conversations of a ShareGPT file, read and checked once (before anything connects); bad input names the file.</summary>
    public static IReadOnlyList<IReadOnlyList<LlmMessage>> ReadConversations(string file)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(File.ReadAllBytes(file));
        }
        catch (JsonException e)
        {
            throw HarnessException.BadInput($"Dataset file '{file}' is not valid JSON: {e.Message}");
        }

        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Array)
            {
                throw HarnessException.BadInput($"Dataset file '{file}' is not a ShareGPT file: its top level is not an array of conversations.");
            }

            var conversations = doc.RootElement.EnumerateArray().Select(c => (IReadOnlyList<LlmMessage>)Messages(c)).ToList();
            return conversations.Any(HasTurn)
                ? conversations
                : throw HarnessException.BadInput($"Dataset file '{file}' has no conversation with a human turn and a reply.");
        }
    }

    /// <summary>The requests of conversations read by <see cref="ReadConversations"/>, counted by the tokenizer when given.</summary>
    public static ShareGptDataset Build(
        string spec, IReadOnlyList<IReadOnlyList<LlmMessage>> conversations, bool allTurns, ITokenCounter? tokenizer, int? maxOutput = null)
    {
        var items = new List<PromptItem>();
        foreach (IReadOnlyList<LlmMessage> messages in conversations)
        {
            var history = new List<LlmMessage>();
            for (int i = 0; i + 1 < messages.Count; i++)
            {
                if (messages[i].Role != "user" || messages[i + 1].Role != "assistant")
                {
                    history.Add(messages[i]);
                    continue;
                }

                int output = Tokens(messages[i + 1].Content, tokenizer);
                if (maxOutput is { } cap)
                {
                    output = Math.Min(output, cap);
                }

                items.Add(new PromptItem
                {
                    Messages = [.. history, messages[i]],
                    InputTokens = history.Append(messages[i]).Sum(m => Tokens(m.Content, tokenizer)),
                    OutputTokens = Math.Max(1, output),
                });
                if (!allTurns)
                {
                    break;
                }

                history.Add(messages[i]);
                history.Add(messages[i + 1]);
                i++;
            }
        }

        return new ShareGptDataset(spec, items, tokenizer is not null, allTurns);
    }

    private static bool HasTurn(IReadOnlyList<LlmMessage> messages)
    {
        for (int i = 0; i + 1 < messages.Count; i++)
        {
            if (messages[i].Role == "user" && messages[i + 1].Role == "assistant")
            {
                return true;
            }
        }

        return false;
    }

    private static List<LlmMessage> Messages(JsonElement conversation)
    {
        var list = new List<LlmMessage>();
        if (conversation.ValueKind != JsonValueKind.Object)
        {
            return list;
        }

        if (conversation.TryGetProperty("conversations", out JsonElement turns) && turns.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement t in turns.EnumerateArray())
            {
                string? from = t.TryGetProperty("from", out JsonElement f) ? f.GetString() : null;
                string? value = t.TryGetProperty("value", out JsonElement v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
                if (value is null)
                {
                    continue;
                }

                list.Add(new LlmMessage(from switch { "human" or "user" => "user", "gpt" or "assistant" or "chatgpt" or "bard" => "assistant", "system" => "system", _ => from ?? "user" }, value));
            }
        }
        else if (conversation.TryGetProperty("messages", out JsonElement messages) && messages.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement m in messages.EnumerateArray())
            {
                if (m.TryGetProperty("role", out JsonElement r) && m.TryGetProperty("content", out JsonElement c) && c.ValueKind == JsonValueKind.String)
                {
                    list.Add(new LlmMessage(r.GetString() ?? "user", c.GetString()!));
                }
            }
        }

        return list;
    }
}
