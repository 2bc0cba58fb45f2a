using Harness.Tokenization;

namespace Harness.Tests.Tokenization;

/// <summary>A model's Jinja chat template recognized by its markers (as llama.cpp does) and rendered in that format.</summary>
public class ChatFormatTests
{
    private static readonly ChatMessage[] Chat =
    [
        new("system", "Be brief."), new("user", "Hi"), new("assistant", "Hello."), new("user", "Bye"),
    ];

    [Fact]
    public void Templates_are_recognized_by_their_markers_and_an_unknown_one_is_null()
    {
        Assert.Equal(ChatFormat.ChatMl, ChatTemplate.Recognize(ChatTemplate.Jinja));
        Assert.Equal(ChatFormat.ChatMl, ChatTemplate.Recognize(null));
        Assert.Equal(ChatFormat.Llama3, ChatTemplate.Recognize("{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>' }}"));
        Assert.Equal(ChatFormat.Llama2, ChatTemplate.Recognize("{{ bos_token + '[INST] ' + message['content'] + ' [/INST]' }}"));
        Assert.Null(ChatTemplate.Recognize("{{ '<|user|>\\n' + message['content'] + eos_token }}"));
    }

    [Fact]
    public void Each_format_renders_as_llama_cpp_does()
    {
        Assert.Equal(
            "[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST] Hello.</s><s>[INST] Bye [/INST]",
            ChatTemplate.Render(Chat, ChatFormat.Llama2));
        Assert.Equal(
            "<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\nHello.<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nBye<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n",
            ChatTemplate.Render(Chat, ChatFormat.Llama3));
        Assert.Equal(ChatTemplate.Render(Chat), ChatTemplate.Render(Chat, ChatFormat.ChatMl));
    }
}
