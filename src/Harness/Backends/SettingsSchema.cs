namespace Harness.Backends;

/// <summary>
/// The <c>--set</c> keys a workload (or a decoder or endpoint backend) declares. Creating it checks
/// the given settings against these before anything is loaded: an unknown key or a bad value is one
/// sentence (exit 2) that names the workload and lists its keys with their types.
/// </summary>
public sealed class SettingsSchema
{
    public SettingsSchema(params IEnumerable<SettingKey> keys)
    {
        Keys = keys.ToList();
        string? twice = Keys.GroupBy(k => k.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1)?.Key;
        if (twice is not null)
        {
            throw new ArgumentException($"setting '{twice}' is declared twice", nameof(keys));
        }
    }

    /// <summary>No keys: any <c>--set</c> is refused.</summary>
    public static SettingsSchema None { get; } = new([]);

    public IReadOnlyList<SettingKey> Keys { get; }

    /// <summary>These keys and <paramref name="more"/>.</summary>
    public SettingsSchema With(params IEnumerable<SettingKey> more) => new(Keys.Concat(more));

    /// <summary>"its settings: size (int), repeats (int)", or that it takes none.</summary>
    public string Known => Keys.Count == 0 ? "it takes no settings" : $"its settings: {string.Join(", ", Keys)}";

    /// <summary>
    /// Throws bad input on a key this schema does not declare or a value its key does not accept;
    /// <paramref name="subject"/> names what is set, e.g. "workload 'gemm' on onnx".
    /// </summary>
    public void Check(string subject, IReadOnlyDictionary<string, string> settings)
    {
        foreach ((string key, string value) in settings)
        {
            SettingKey? declared = Keys.FirstOrDefault(k => k.Matches(key));
            if (declared is null)
            {
                throw HarnessException.BadInput($"{subject} has no setting '{key}'; {Known}.");
            }

            if (!declared.Accepts(value))
            {
                throw HarnessException.BadInput($"{subject}: setting {key}={value} is not {declared.Expected}; {Known}.");
            }
        }
    }

    /// <summary>One line per key for <c>harness list</c>: name, type, default and meaning.</summary>
    public IEnumerable<string> Describe() => Keys.Select(k => $"{k.Name}={k.Type} (default {k.Default}): {k.Meaning}");
}
