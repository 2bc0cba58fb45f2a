using Harness.Agents.Jobs;
using Harness.Datasets;

namespace Harness.Agents.Scheduling;

/// <summary>What a simulated tool call costs: service time on its worker, output tokens, and whether it failed.</summary>
public readonly record struct ToolCost(TimeSpan Service, int OutputTokens, bool Failed = false);

/// <summary>Gives simulated tool calls their cost, deterministically from the call (its seed), so that every worker count sees the same calls.</summary>
public interface IToolCostModel
{
    ToolCost Cost(ToolCallPlan call);
}

/// <summary>Costs from a function: tests state them exactly.</summary>
public sealed class FixedToolCost(Func<ToolCallPlan, ToolCost> cost) : IToolCostModel
{
    public ToolCost Cost(ToolCallPlan call) => cost(call);
}

/// <summary>
/// Costs drawn from calls measured on this machine, per tool: a call picks one measured sample by its
/// seed. Used to project what more cores would do: it assumes each extra core runs a tool as fast as
/// the measured ones did.
/// </summary>
public sealed class MeasuredToolCost : IToolCostModel
{
    private readonly IReadOnlyDictionary<string, (long Ticks, int Tokens)[]> _samples;
    private readonly (long Ticks, int Tokens)[] _all;
    private readonly double _tickSeconds;

    public MeasuredToolCost(IReadOnlyDictionary<string, IReadOnlyList<(long ServiceTicks, int Tokens)>> samples, long frequency)
    {
        _samples = samples.Where(kv => kv.Value.Count > 0).ToDictionary(kv => kv.Key, kv => kv.Value.ToArray(), StringComparer.Ordinal);
        _all = _samples.Values.SelectMany(v => v).ToArray();
        if (_all.Length == 0)
        {
            throw HarnessException.BadInput("No tool call succeeded in the measured runs, so tool costs cannot be projected.");
        }

        _tickSeconds = 1.0 / frequency;
    }

    public IReadOnlyDictionary<string, (long Ticks, int Tokens)[]> Samples => _samples;

    public ToolCost Cost(ToolCallPlan call)
    {
        (long Ticks, int Tokens)[] pool = _samples.TryGetValue(call.Tool, out var s) ? s : _all;
        (long ticks, int tokens) = pool[(int)((uint)Seeds.Mix(call.Seed, 99) % (uint)pool.Length)];
        return new ToolCost(TimeSpan.FromSeconds(ticks * _tickSeconds), tokens);
    }
}
