using Harness.Agents.Profiles;
using Harness.Datasets;

namespace Harness.Agents.Jobs;

/// <summary>
/// Draws the tasks of every agent from a profile. Job <c>j</c> of agent <c>a</c> depends only on the
/// profile, the seed, <c>a</c> and <c>j</c>, so runs with different worker counts give the agents the
/// same work (common random numbers: sweep points differ only by what is swept).
/// </summary>
public sealed class JobGenerator
{
    private readonly AgentProfile _profile;
    private readonly int _seed;
    private readonly double _totalWeight;

    public JobGenerator(AgentProfile profile, int seed)
    {
        _profile = profile;
        _seed = seed;
        _totalWeight = profile.Tools.Sum(t => t.Weight);
        if (profile.Tools.Count > 0 && _totalWeight <= 0)
        {
            throw HarnessException.BadInput($"Agent profile '{profile.Name}' gives every tool weight 0.");
        }
    }

    public AgentProfile Profile => _profile;

    public AgentJob Create(int agent, int index)
    {
        var rng = new Random(Seeds.Mix(_seed, agent, index, 1));
        int turnCount = _profile.Turns.SampleInt(rng, floor: 1);
        int prompt = _profile.InitialPromptTokens.SampleInt(rng, floor: 1);
        var turns = new TurnPlan[turnCount];
        for (int t = 0; t < turnCount; t++)
        {
            int decode = _profile.DecodeTokens.SampleInt(rng, floor: 1);
            bool last = t == turnCount - 1;
            int callCount = (last && _profile.FinalTurnWithoutTools) || _profile.Tools.Count == 0
                ? 0
                : _profile.ToolCallsPerTurn.SampleInt(rng, floor: 0);
            var calls = new ToolCallPlan[callCount];
            for (int c = 0; c < callCount; c++)
            {
                calls[c] = DrawCall(rng, Seeds.Mix(_seed, agent, index, t, c + 2));
            }

            turns[t] = new TurnPlan(decode, calls);
        }

        return new AgentJob(agent, index, prompt, turns);
    }

    /// <summary>
    /// One call of every tool and variant of the profile, with arguments drawn as in a job: what the
    /// tools run once before anything is measured.
    /// </summary>
    public IEnumerable<ToolCallPlan> WarmupCalls()
    {
        var rng = new Random(Seeds.Mix(_seed, -1));
        foreach (ToolMixEntry entry in _profile.Tools)
        {
            IEnumerable<string?> variants = entry.Variants.Count > 0 ? entry.Variants.Select(v => (string?)v.Key) : [null];
            foreach (string? variant in variants)
            {
                yield return Call(entry, variant, rng, rng.Next());
            }
        }
    }

    private ToolCallPlan DrawCall(Random rng, int seed)
    {
        ToolMixEntry entry = Pick(_profile.Tools, e => e.Weight, _totalWeight, rng);
        string? variant = null;
        if (entry.Variants.Count > 0)
        {
            variant = Pick(entry.Variants, v => v.Value, entry.Variants.Sum(v => v.Value), rng).Key;
        }

        return Call(entry, variant, rng, seed);
    }

    private static ToolCallPlan Call(ToolMixEntry entry, string? variant, Random rng, int seed)
    {
        var args = new Dictionary<string, double>(entry.Args.Count, StringComparer.Ordinal);
        foreach ((string name, Distribution d) in entry.Args)
        {
            args[name] = Math.Round(d.Sample(rng), 3);
        }

        return new ToolCallPlan(entry.Tool, variant, args, seed);
    }

    private static T Pick<T>(IReadOnlyList<T> items, Func<T, double> weight, double total, Random rng)
    {
        double r = rng.NextDouble() * total;
        foreach (T item in items)
        {
            r -= weight(item);
            if (r < 0)
            {
                return item;
            }
        }

        return items[^1];
    }
}
