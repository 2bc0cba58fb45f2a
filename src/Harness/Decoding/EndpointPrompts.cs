using Harness.Datasets;

namespace Harness.Decoding;

/// <summary>
/// The requests of a run over an endpoint: the dataset opened for the run's seed and the endpoint's
/// tokenizer, its first items made before the run (beyond, each is made when it is due), and the
/// history of each multi-turn session, threaded into its next turn.
/// </summary>
internal sealed class EndpointPrompts(PromptDataset dataset)
{
    /// <summary>Items made before the run, and the characters they may take.</summary>
    private const int PreparedItems = 4096;
    private const long PreparedChars = 64L << 20;

    private readonly PromptItem[] _prepared = Prepare(dataset);
    private readonly Dictionary<string, List<LlmMessage>> _sessions = new(StringComparer.Ordinal);

    public PromptDataset Dataset => dataset;

    /// <summary>Item <paramref name="index"/>, the dataset repeating from its start when the run asks for more.</summary>
    public PromptItem Item(long index)
    {
        long wrapped = dataset.Count == int.MaxValue ? index : index % dataset.Count;
        return wrapped < _prepared.Length ? _prepared[wrapped] : dataset.Item(wrapped);
    }

    /// <summary>
    /// The messages to send for <paramref name="item"/>: a replayed session's turn (<paramref name="replayed"/>,
    /// the scenario gave its entry) comes after its session's history, which is returned to be extended when it ends.
    /// </summary>
    public (IReadOnlyList<LlmMessage> Messages, List<LlmMessage>? History) Messages(PromptItem item, bool replayed)
    {
        if (item.Session is not { } session || !replayed)
        {
            return (item.Messages, null);
        }

        lock (_sessions)
        {
            List<LlmMessage> history = _sessions.TryGetValue(session, out List<LlmMessage>? h) ? h : _sessions[session] = [];
            return ([.. history, .. item.Messages], history);
        }
    }

    /// <summary>Adds a turn and the reply it got to its session's history.</summary>
    public void Remember(List<LlmMessage> history, PromptItem item, string answer)
    {
        lock (_sessions)
        {
            history.AddRange(item.Messages);
            history.Add(LlmMessage.Assistant(answer));
        }
    }

    private static PromptItem[] Prepare(PromptDataset dataset)
    {
        var items = new List<PromptItem>();
        long chars = 0;
        for (int i = 0; i < Math.Min(PreparedItems, dataset.Count) && chars < PreparedChars; i++)
        {
            PromptItem item = dataset.Item(i);
            chars += item.Messages.Sum(m => (long)m.Content.Length);
            items.Add(item);
        }

        return [.. items];
    }
}
