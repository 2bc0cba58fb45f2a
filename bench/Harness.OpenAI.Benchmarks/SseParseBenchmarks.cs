using System.Text;
using BenchmarkDotNet.Attributes;
using Harness.Decoding;
using Harness.OpenAI.Streaming;

namespace Harness.OpenAI.Benchmarks;

/// <summary>
/// One streamed response of <see cref="Events"/> token chunks in vLLM's chat shape (a role-only
/// first chunk, one word per chunk, a finish chunk, the usage chunk, [DONE]) fed to the client's
/// reader in 16 KiB reads, as the socket gives them: SSE framing and the chunk's JSON, per event.
/// One thread, so events per second is per core.
/// </summary>
[MemoryDiagnoser]
public class SseParseBenchmarks
{
    public const int Events = 1024;
    private const int ReadSize = 16 * 1024;

    private readonly EventStreamReader _reader = new();
    private readonly StreamRecord _record = new();
    private byte[] _stream = [];

    [Params(false, true)]
    public bool KeepText { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var sb = new StringBuilder();
        sb.Append("data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n");
        for (int i = 0; i < Events; i++)
        {
            sb.Append("data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" word")
              .Append(i % 100).Append("\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n");
        }

        sb.Append("data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"length\"}]}\n\n");
        sb.Append("data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[],\"usage\":{\"prompt_tokens\":128,\"completion_tokens\":1024,\"total_tokens\":1152}}\n\n");
        sb.Append("data: [DONE]\n\n");
        _stream = Encoding.UTF8.GetBytes(sb.ToString());
        Parse(); // buffers grow to their steady size once
    }

    /// <summary>One response; reported per event (OperationsPerInvoke).</summary>
    [Benchmark(OperationsPerInvoke = Events)]
    public int Parse()
    {
        _record.Clear();
        _record.KeepText = KeepText;
        _reader.Reset(_record);
        ReadOnlySpan<byte> rest = _stream;
        long t = 0;
        while (!rest.IsEmpty)
        {
            int n = Math.Min(ReadSize, rest.Length);
            if (_reader.Feed(rest[..n], ++t) != StreamState.Reading)
            {
                break;
            }

            rest = rest[n..];
        }

        return _record.EventCount;
    }
}
