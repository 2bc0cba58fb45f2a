namespace Harness.Datasets;

/// <summary>One message of a conversation: its role (system, user, assistant, tool) and its text.</summary>
public sealed record LlmMessage(string Role, string Content)
{
    public static LlmMessage System(string content) => new("system", content);

    public static LlmMessage User(string content) => new("user", content);

    public static LlmMessage Assistant(string content) => new("assistant", content);
}
