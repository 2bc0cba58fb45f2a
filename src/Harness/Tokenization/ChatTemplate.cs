using System.Text;

namespace Harness.Tokenization;

/// <summary>The chat formats the harness renders (a model's Jinja template is recognized as one of them, as llama.cpp does).</summary>
public enum ChatFormat
{
    /// <summary><c>&lt;|im_start|&gt;{role}\n{content}&lt;|im_end|&gt;\n</c> (the harness's own, Qwen's).</summary>
    ChatMl,

    /// <summary>Llama 2 / Mistral: <c>[INST] {user} [/INST] {assistant}&lt;/s&gt;&lt;s&gt;[INST] ...</c>, a system message in
    /// <c>&lt;&lt;SYS&gt;&gt;</c>.</summary>
    Llama2,

    /// <summary>Llama 3: <c>&lt;|start_header_id|&gt;{role}&lt;|end_header_id|&gt;\n\n{content}&lt;|eot_id|&gt;</c>.</summary>
    Llama3,
}

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

    /// <summary>
    /// The format a model's Jinja template (tokenizer_config.json's <c>chat_template</c>, GGUF's
    /// <c>tokenizer.chat_template</c>) is, recognized by its markers as llama.cpp's llama_chat_apply_template does
    /// (no Jinja is run): <c>&lt;|im_start|&gt;</c> ChatML, <c>&lt;|start_header_id|&gt;</c> Llama 3, <c>[INST]</c>
    /// Llama 2. Null for a template of none of them (the caller says so and renders ChatML); ChatML for no template.
    /// </summary>
    public static ChatFormat? Recognize(string? jinja) => jinja switch
    {
        null or "" => ChatFormat.ChatMl,
        _ when jinja.Contains("<|im_start|>", StringComparison.Ordinal) => ChatFormat.ChatMl,
        _ when jinja.Contains("<|start_header_id|>", StringComparison.Ordinal) => ChatFormat.Llama3,
        _ when jinja.Contains("[INST]", StringComparison.Ordinal) => ChatFormat.Llama2,
        _ => null,
    };

    /// <summary>Messages in <paramref name="format"/>, ending where the assistant's reply begins (no begin-of-text token: the
    /// tokenizer adds it).</summary>
    public static string Render(IEnumerable<ChatMessage> messages, ChatFormat format) => format switch
    {
        ChatFormat.Llama2 => RenderLlama2(messages),
        ChatFormat.Llama3 => RenderLlama3(messages),
        _ => Render(messages),
    };

    public static string Render(IEnumerable<ChatMessage> messages)
    {
        var text = new StringBuilder();
        foreach (ChatMessage m in messages)
        {
            text.Append("<|im_start|>").Append(m.Role).Append('\n').Append(m.Content).Append("<|im_end|>\n");
        }

        return text.Append("<|im_start|>assistant\n").ToString();
    }

    private static string RenderLlama3(IEnumerable<ChatMessage> messages)
    {
        var text = new StringBuilder();
        foreach (ChatMessage m in messages)
        {
            text.Append("<|start_header_id|>").Append(m.Role).Append("<|end_header_id|>\n\n").Append(m.Content.Trim()).Append("<|eot_id|>");
        }

        return text.Append("<|start_header_id|>assistant<|end_header_id|>\n\n").ToString();
    }

    /// <summary>llama.cpp's llama2 format: a system message inside the first [INST] in &lt;&lt;SYS&gt;&gt;.</summary>
    private static string RenderLlama2(IEnumerable<ChatMessage> messages)
    {
        var text = new StringBuilder();
        bool open = false;
        foreach (ChatMessage m in messages)
        {
            if (m.Role == "system")
            {
                text.Append("[INST] <<SYS>>\n").Append(m.Content).Append("\n<</SYS>>\n\n");
                open = true;
            }
            else if (m.Role == "user")
            {
                text.Append(open ? "" : "[INST] ").Append(m.Content.Trim()).Append(" [/INST]");
                open = false;
            }
            else
            {
                text.Append(' ').Append(m.Content.Trim()).Append("</s><s>");
                open = false;
            }
        }

        return text.ToString();
    }
}
