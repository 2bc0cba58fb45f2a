using System.Text;
using System.Text.Json;
using Harness.Engine;

namespace Harness.Results;

/// <summary>
/// One section of a result file that a higher layer owns (<c>serving</c> of the LLM layer, <c>agents</c> of the agents
/// layer): its key at the top of the file and its payload. The results layer writes and keeps it without knowing its type.
/// </summary>
public sealed record ResultSection(string Key, object Value)
{
    /// <summary>A payload of a registered section type (<see cref="ResultSections.Register{T}"/>) under its own key.</summary>
    public static ResultSection Of<T>(T value)
        where T : class => new(ResultSections.KeyOf<T>(), value);
}

/// <summary>
/// A workload whose outcome has sections of its own (the serving section of a run against an HTTP endpoint). The runner
/// asks it once after the measured phase, before the workload is disposed; the engine never sees the sections.
/// </summary>
public interface IWorkloadSections
{
    IReadOnlyList<ResultSection> Sections(EngineResult run);
}

/// <summary>
/// The section types of the result file, each with its key, its reader (System.Text.Json with <see cref="ResultJson.Options"/>,
/// by the registered type; the writer uses the payload's runtime type with the same options) and, optionally, its lines in the
/// terminal summary (<see cref="MarkdownSummary"/>).
/// <para>
/// Registration is done by module initializers of this assembly (Decoding/ServingSection.cs, Agents/Reporting/AgentSection.cs):
/// the runtime runs them when Harness.Core is loaded, before any of its code, so every reader and writer sees the same
/// sections whichever type or command is touched first, and no entry point (CLI command, test, tool) can forget to register.
/// The registrations are independent of their order (one key per type, a second registration of a key throws), so the
/// order in which the initializers run changes nothing.
/// </para>
/// </summary>
public static class ResultSections
{
    private static readonly Lock Gate = new();
    private static readonly Dictionary<Type, Registration> ByType = [];
    private static readonly Dictionary<string, Registration> ByKey = new(StringComparer.Ordinal);

    /// <summary>Registers <typeparamref name="T"/> as the section under <paramref name="key"/> at the top of a result file.</summary>
    /// <param name="key">The top-level key of the file (e.g. <c>serving</c>).</param>
    /// <param name="summary">Appends the section's lines to the terminal summary of a run; null for none.</param>
    public static void Register<T>(string key, Action<StringBuilder, T, ResultDocument>? summary = null)
        where T : class
    {
        var registration = new Registration(key, typeof(T),
            e => e.Deserialize<T>(ResultJson.Options),
            summary is null ? null : (sb, value, doc) => summary(sb, (T)value, doc));
        lock (Gate)
        {
            if (ByKey.TryGetValue(key, out Registration? existing) && existing.Type != typeof(T))
            {
                throw new InvalidOperationException($"result section '{key}' is registered twice ({existing.Type.Name}, {typeof(T).Name})");
            }

            ByKey[key] = registration;
            ByType[typeof(T)] = registration;
        }
    }

    /// <summary>The key <typeparamref name="T"/> is registered under; throws for an unregistered type (a programming error).</summary>
    public static string KeyOf<T>()
        where T : class
    {
        lock (Gate)
        {
            return ByType.TryGetValue(typeof(T), out Registration? r)
                ? r.Key
                : throw new InvalidOperationException($"{typeof(T).Name} is not a registered result section (ResultSections.Register)");
        }
    }

    /// <summary>Whether <paramref name="key"/> is a section this build knows; a file's unknown top-level keys are kept as read.</summary>
    public static bool IsKnown(string key)
    {
        lock (Gate)
        {
            return ByKey.ContainsKey(key);
        }
    }

    internal static Registration? Find(string key)
    {
        lock (Gate)
        {
            return ByKey.GetValueOrDefault(key);
        }
    }

    internal sealed record Registration(
        string Key, Type Type, Func<JsonElement, object?> Read, Action<StringBuilder, object, ResultDocument>? Summary);
}
