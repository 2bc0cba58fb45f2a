using Harness.Agents.Jobs;
using Harness.Agents.Profiles;

namespace Harness.Agents.Tools;

/// <summary>
/// Base of the shipped tools: validates a profile entry against <see cref="Parameters"/> and
/// <see cref="Variants"/>, and holds the environment after <see cref="Prepare"/>.
/// </summary>
public abstract class AgentTool : IAgentTool
{
    private ToolEnvironment? _environment;

    public abstract string Name { get; }

    public abstract string Description { get; }

    public abstract IReadOnlyDictionary<string, string> Parameters { get; }

    /// <summary>Variant names a profile may use; empty when the tool has none.</summary>
    public virtual IReadOnlyList<string> Variants => [];

    protected ToolEnvironment Environment => _environment ?? throw new InvalidOperationException($"tool '{Name}' was not prepared");

    public virtual void Validate(ToolMixEntry entry, AgentProfile profile)
    {
        foreach (string arg in entry.Args.Keys)
        {
            if (!Parameters.ContainsKey(arg))
            {
                throw HarnessException.BadInput($"Agent profile '{profile.Name}': tool '{Name}' has no argument '{arg}'; known: {string.Join(", ", Parameters.Keys)}.");
            }
        }

        IReadOnlyList<string> known = VariantsFor(profile);
        foreach (string v in entry.Variants.Select(v => v.Key))
        {
            if (!known.Contains(v, StringComparer.Ordinal))
            {
                throw HarnessException.BadInput($"Agent profile '{profile.Name}': tool '{Name}' has no variant '{v}'; known: {(known.Count == 0 ? "none" : string.Join(", ", known))}.");
            }
        }
    }

    public void Prepare(ToolEnvironment environment)
    {
        _environment = environment;
        OnPrepare(environment);
    }

    public abstract ToolOutput Invoke(ToolCallPlan call, ToolContext context);

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Variants allowed for this profile (exec takes them from the profile's allow-list).</summary>
    protected virtual IReadOnlyList<string> VariantsFor(AgentProfile profile) => Variants;

    protected virtual void OnPrepare(ToolEnvironment environment)
    {
    }

    protected virtual void Dispose(bool disposing)
    {
    }

    /// <summary>An integer argument within [min, max].</summary>
    protected static int Arg(ToolCallPlan call, string name, int fallback, int min, int max) =>
        Math.Clamp(call.Int(name, fallback), min, max);
}
