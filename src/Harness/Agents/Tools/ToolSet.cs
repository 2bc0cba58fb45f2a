using Harness.Agents.Jobs;
using Harness.Agents.Profiles;
using Harness.Measurement;

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

    /// <summary>
    /// Prepares the tools the profile uses (only those: embed loads a model, sql builds a database),
    /// then runs one call of each tool and variant. A first call pays one-off costs (the generated
    /// corpus, compiled regular expressions, JIT, a subprocess's first start) that would otherwise
    /// fall into the first measured seconds: on a loaded machine, into the whole of a short window.
    /// The warm-up calls' outcomes are not recorded (a tool that fails fails again in the run); one
    /// that ignores its timeout is left behind after a second more, as the run's watchdog would.
    /// </summary>
    public void Prepare(ToolEnvironment environment)
    {
        AgentProfile profile = environment.Profile;
        Validate(profile);
        foreach (string name in profile.Tools.Select(t => t.Tool).Distinct(StringComparer.Ordinal))
        {
            Get(name).Prepare(environment);
        }

        foreach (ToolCallPlan call in new JobGenerator(profile, environment.Seed).WarmupCalls())
        {
            IAgentTool tool = Get(call.Tool);
            var warm = new Thread(() => ToolRunner.Run(tool, call, worker: 0, profile.ToolTimeout, StopwatchClock.Instance, CancellationToken.None))
            {
                IsBackground = true,
                Name = $"harness-tool-warmup-{call.Tool}",
            };
            warm.Start();
            if (!warm.Join(profile.ToolTimeout + TimeSpan.FromSeconds(1)))
            {
                return; // a hung tool: the run's watchdog deals with its next calls
            }
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
