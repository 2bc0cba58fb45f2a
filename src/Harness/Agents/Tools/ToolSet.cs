using Harness.Agents.Profiles;

namespace Harness.Agents.Tools;

/// <summary>
/// The tools a build offers, by name (the composite of <see cref="IAgentTool"/>). The core ships
/// grep, json, compress and exec; Harness.Agents adds sql, embed and tokenize, which need native code.
/// </summary>
public sealed class ToolSet : IDisposable
{
    private readonly Dictionary<string, IAgentTool> _tools;

    public ToolSet(IEnumerable<IAgentTool> tools)
    {
        _tools = new Dictionary<string, IAgentTool>(StringComparer.Ordinal);
        foreach (IAgentTool t in tools)
        {
            if (!_tools.TryAdd(t.Name, t))
            {
                throw new ArgumentException($"two tools are named '{t.Name}'", nameof(tools));
            }
        }
    }

    /// <summary>The tools of the core: no native dependency.</summary>
    public static ToolSet Core() => new(CoreTools());

    public static IEnumerable<IAgentTool> CoreTools() => [new GrepTool(), new JsonTool(), new CompressTool(), new ExecTool()];

    public IReadOnlyCollection<IAgentTool> All => _tools.Values;

    public IAgentTool Get(string name) => _tools.TryGetValue(name, out IAgentTool? t)
        ? t
        : throw HarnessException.BadInput($"Unknown agent tool '{name}'; known: {string.Join(", ", _tools.Keys.Order(StringComparer.Ordinal))}.");

    /// <summary>Checks that every tool of the profile exists and accepts its arguments and variants.</summary>
    public void Validate(AgentProfile profile)
    {
        foreach (ToolMixEntry entry in profile.Tools)
        {
            Get(entry.Tool).Validate(entry, profile);
        }
    }

    /// <summary>Prepares the tools the profile uses (only those: embed loads a model, sql builds a database).</summary>
    public void Prepare(ToolEnvironment environment)
    {
        Validate(environment.Profile);
        foreach (string name in environment.Profile.Tools.Select(t => t.Tool).Distinct(StringComparer.Ordinal))
        {
            Get(name).Prepare(environment);
        }
    }

    public void Dispose()
    {
        foreach (IAgentTool t in _tools.Values)
        {
            t.Dispose();
        }
    }
}
