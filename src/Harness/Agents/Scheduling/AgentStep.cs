using Harness.Decoding;

namespace Harness.Agents.Scheduling;

/// <summary>
/// One agent's LLM step in flight: the request it sent to the endpoint, and when each stage of it
/// happened. It is the request's stream: the endpoint's events are recorded here (on the
/// endpoint's thread), and its end goes to the host, which hands it to the coordinator.
/// </summary>
public sealed class AgentStep : IRecordingLlmStream
{
    private readonly IAgentHost _host;
    private bool _admitted;
    private StreamRecord? _record;

    public AgentStep(int agent, LlmRequest request, long submitTimestamp, IAgentHost host)
    {
        Agent = agent;
        Request = request;
        SubmitTimestamp = submitTimestamp;
        _host = host;
    }

    public int Agent { get; }

    public LlmRequest Request { get; }

    /// <summary>Tokens this step decodes (k), at least 1.</summary>
    public int DecodeTokens => Request.MaxNewTokens;

    public long SubmitTimestamp { get; }

    /// <summary>When the endpoint admitted it into a prefill (queueing ends); the submit time where the endpoint does not say.</summary>
    public long AdmitTimestamp { get; private set; }

    public long FirstTokenTimestamp { get; private set; }

    private int _produced;

    /// <summary>Tokens received so far (streamed events, for a remote endpoint); read by the coordinator while the step runs.</summary>
    public int Produced => Volatile.Read(ref _produced);

    /// <summary>What a remote endpoint recorded of the step, its reply text kept; created when one asks for it.</summary>
    public StreamRecord Record => _record ??= new StreamRecord { KeepText = true };

    /// <summary>The reply's text (its answer, else whatever it generated); empty where the endpoint sends no text.</summary>
    public string Reply => _record is null ? "" : (_record.Answer.Length > 0 ? _record.Answer : _record.Text).ToString();

    void ILlmStream.Admitted(LlmRequest request, long timestamp)
    {
        AdmitTimestamp = timestamp;
        _admitted = true;
    }

    void ILlmStream.Token(LlmRequest request, long token, long timestamp)
    {
        if (Interlocked.Increment(ref _produced) == 1)
        {
            FirstTokenTimestamp = timestamp;
            if (!_admitted)
            {
                AdmitTimestamp = SubmitTimestamp;
            }
        }
    }

    void ILlmStream.Completed(LlmRequest request, LlmCompletion completion, long timestamp) => _host.StepCompleted(this, timestamp);

    void ILlmStream.Failed(LlmRequest request, Exception error) => _host.StepFailed(this, error);
}
