using System.Text;
using System.Text.Json;
using Harness.Decoding;

namespace Harness.OpenAI.Streaming;

/// <summary>What one streamed chunk was.</summary>
public enum ChunkKind
{
    /// <summary>It carried generated text (answer, reasoning or tool-call arguments).</summary>
    Tokens,

    /// <summary>It carried none: a role-only first chunk, a finish-only or usage-only chunk.</summary>
    Empty,

    /// <summary>An error event from the server (the request failed mid-stream).</summary>
    Error,

    /// <summary>Not a JSON object (the request failed: a malformed chunk).</summary>
    Malformed,
}

/// <summary>
/// Reads one chunk of an OpenAI-compatible stream (chat: <c>choices[].delta.content</c>,
/// <c>reasoning_content</c> or <c>reasoning</c>, <c>tool_calls[].function.arguments</c>; completions:
/// <c>choices[].text</c>; <c>finish_reason</c>; <c>usage</c> with <c>prompt_tokens_details.cached_tokens</c>;
/// an <c>error</c> object) straight from its UTF-8 bytes into the request's <see cref="StreamRecord"/>.
/// A role-only chunk or an empty content string is not a token; reasoning is. Allocates nothing for
/// a chunk of text (the finish reason and error messages are the only strings it makes).
/// </summary>
public sealed class ChunkReader
{
    private char[] _chars = new char[1024];

    /// <summary>The server's message when the chunk was an error, or what was wrong with a malformed one.</summary>
    public string? Message { get; private set; }

    public ChunkKind Read(ReadOnlySpan<byte> json, StreamRecord record, long timestamp)
    {
        Message = null;
        int content = 0, reasoning = 0, tool = 0;
        int textStart = record.Text.Length;
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return Malformed(json, "not a JSON object");
            }

            bool errorObject = false;
            string? topMessage = null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("choices"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.StartArray)
                    {
                        while (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
                        {
                            Choice(ref reader, record, ref content, ref reasoning, ref tool);
                        }
                    }
                    else
                    {
                        reader.Skip();
                    }
                }
                else if (reader.ValueTextEquals("usage"u8))
                {
                    reader.Read();
                    Usage(ref reader, record);
                }
                else if (reader.ValueTextEquals("error"u8))
                {
                    reader.Read();
                    Message = ErrorMessage(ref reader);
                    errorObject = true;
                }
                else if (reader.ValueTextEquals("object"u8))
                {
                    reader.Read();
                    errorObject |= reader.TokenType == JsonTokenType.String && reader.ValueTextEquals("error"u8);
                }
                else if (reader.ValueTextEquals("message"u8))
                {
                    reader.Read();
                    topMessage = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                    if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
                    {
                        reader.Skip();
                    }
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            if (errorObject)
            {
                Message ??= topMessage ?? "the server sent an error without a message";
                return ChunkKind.Error;
            }
        }
        catch (JsonException e)
        {
            return Malformed(json, e.Message);
        }

        if (content + reasoning + tool == 0)
        {
            record.EmptyEvents++;
            return ChunkKind.Empty;
        }

        StreamEventKind kind = content > 0 || tool > 0 ? (content > 0 ? StreamEventKind.Content : StreamEventKind.ToolCall) : StreamEventKind.Reasoning;
        record.Add(timestamp, kind, content + reasoning + tool, textStart);
        return ChunkKind.Tokens;
    }

    private void Choice(ref Utf8JsonReader reader, StreamRecord record, ref int content, ref int reasoning, ref int tool)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("delta"u8) || reader.ValueTextEquals("message"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    reader.Skip();
                    continue;
                }

                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    if (reader.ValueTextEquals("content"u8))
                    {
                        reader.Read();
                        content += Text(ref reader, record, answer: true);
                    }
                    else if (reader.ValueTextEquals("reasoning_content"u8) || reader.ValueTextEquals("reasoning"u8))
                    {
                        reader.Read();
                        reasoning += Text(ref reader, record, answer: false);
                    }
                    else if (reader.ValueTextEquals("tool_calls"u8))
                    {
                        reader.Read();
                        tool += ToolCalls(ref reader, record);
                    }
                    else
                    {
                        reader.Read();
                        reader.Skip();
                    }
                }
            }
            else if (reader.ValueTextEquals("text"u8))
            {
                reader.Read();
                content += Text(ref reader, record, answer: true);
            }
            else if (reader.ValueTextEquals("finish_reason"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.String)
                {
                    record.FinishReason = reader.ValueTextEquals("stop"u8) ? "stop"
                        : reader.ValueTextEquals("length"u8) ? "length"
                        : reader.ValueTextEquals("tool_calls"u8) ? "tool_calls"
                        : reader.GetString();
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
    }

    private int ToolCalls(ref Utf8JsonReader reader, StreamRecord record)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            reader.Skip();
            return 0;
        }

        int chars = 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
        {
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("function"u8))
                {
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.StartObject)
                    {
                        reader.Skip();
                        continue;
                    }

                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        bool text = reader.ValueTextEquals("arguments"u8) || reader.ValueTextEquals("name"u8);
                        reader.Read();
                        if (text)
                        {
                            chars += Text(ref reader, record, answer: false);
                        }
                        else
                        {
                            reader.Skip();
                        }
                    }
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
        }

        return chars;
    }

    /// <summary>A string value's characters (null and non-strings count none), appended to the kept text when asked.</summary>
    private int Text(ref Utf8JsonReader reader, StreamRecord record, bool answer)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            reader.Skip();
            return 0;
        }

        int max = reader.HasValueSequence ? (int)reader.ValueSequence.Length : reader.ValueSpan.Length;
        if (max == 0)
        {
            return 0;
        }

        if (_chars.Length < max)
        {
            _chars = new char[Math.Max(max, _chars.Length * 2)];
        }

        int n = reader.CopyString(_chars);
        if (record.KeepText && n > 0)
        {
            record.Text.Append(_chars, 0, n);
            if (answer)
            {
                record.Answer.Append(_chars, 0, n);
            }
        }

        return n;
    }

    private static void Usage(ref Utf8JsonReader reader, StreamRecord record)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("prompt_tokens"u8))
            {
                reader.Read();
                record.PromptTokens = Int(ref reader);
            }
            else if (reader.ValueTextEquals("completion_tokens"u8))
            {
                reader.Read();
                record.CompletionTokens = Int(ref reader);
            }
            else if (reader.ValueTextEquals("prompt_tokens_details"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    reader.Skip();
                    continue;
                }

                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    bool cached = reader.ValueTextEquals("cached_tokens"u8);
                    reader.Read();
                    if (cached)
                    {
                        record.CachedTokens = Int(ref reader);
                    }
                    else
                    {
                        reader.Skip();
                    }
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
    }

    private static int? Int(ref Utf8JsonReader reader) =>
        reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out int v) ? v : null;

    private static string ErrorMessage(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.String)
        {
            return reader.GetString() ?? "";
        }

        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return "the server sent an error";
        }

        string? message = null, type = null;
        object? code = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("message"u8))
            {
                reader.Read();
                message = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
            }
            else if (reader.ValueTextEquals("type"u8))
            {
                reader.Read();
                type = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
            }
            else if (reader.ValueTextEquals("code"u8))
            {
                reader.Read();
                code = reader.TokenType switch
                {
                    JsonTokenType.Number => reader.GetDouble(),
                    JsonTokenType.String => reader.GetString(),
                    _ => null,
                };
                if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
                {
                    reader.Skip();
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        var sb = new StringBuilder(message ?? "the server sent an error");
        if (type is not null || code is not null)
        {
            sb.Append(" (").Append(string.Join(", ", new[] { type, code?.ToString() }.Where(x => x is not null))).Append(')');
        }

        return sb.ToString();
    }

    private ChunkKind Malformed(ReadOnlySpan<byte> json, string why)
    {
        Message = $"malformed chunk ({why}): {Excerpt(json)}";
        return ChunkKind.Malformed;
    }

    /// <summary>The first 80 characters of a payload, for a failure's reason.</summary>
    internal static string Excerpt(ReadOnlySpan<byte> bytes)
    {
        string text = Encoding.UTF8.GetString(bytes[..Math.Min(bytes.Length, 120)]);
        text = text.ReplaceLineEndings(" ");
        return text.Length > 80 ? text[..80] + "..." : text;
    }
}
