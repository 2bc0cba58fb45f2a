using System.Text;

namespace Harness.Tokenization;

/// <summary>One message of a chat: its role (system, user, assistant...) and its text.</summary>
public sealed record ChatMessage(string Role, string Content);

/// <summary>
/// The chat template: ChatML, written as plain text (the seeded models have no special tokens for
/// it). Each message is <c>&lt;|im_start|&gt;{role}\n{content}&lt;|im_end|&gt;\n</c>, and the prompt
/// ends with <c>&lt;|im_start|&gt;assistant\n</c>, where the reply begins. A client that counts
/// prompt tokens the same way gets the server's count (docs/serving.md).
/// </summary>
public static class ChatTemplate
{
    /// <summary>The same template in Jinja, as tokenizer_config.json and GGUF's tokenizer.chat_template carry it.</summary>
    public const string Jinja =
        "{% for message in messages %}"
        + "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}"
        + "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

    public static string Render(IEnumerable<ChatMessage> messages)
    {
        var text = new StringBuilder();
        foreach (ChatMessage m in messages)
        {
            text.Append("<|im_start|>").Append(m.Role).Append('\n').Append(m.Content).Append("<|im_end|>\n");
        }

        return text.Append("<|im_start|>assistant\n").ToString();
    }
}
