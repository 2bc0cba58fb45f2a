using Harness.Metrics;
using Harness.Results;

namespace Harness.Reports;

/// <summary>
/// The runs of a report with the names the views give them: a short distinct label, an id the
/// page's filter uses, and the workload, backend and machine a reader groups them by.
/// </summary>
public sealed class RunSet
{
    private readonly Dictionary<LoadedResult, string> _labels;
    private readonly Dictionary<LoadedResult, RunKey> _keys = [];

    public RunSet(IReadOnlyList<LoadedResult> results)
    {
        All = results;
        _labels = Labels(results);
        for (int i = 0; i < results.Count; i++)
        {
            ResultDocument d = results[i].Document;
            _keys[results[i]] = new RunKey($"run-{i + 1}", d.Workload, d.Backend, Machine(d));
        }
    }

    private RunSet(IReadOnlyList<LoadedResult> subset, RunSet of)
    {
        All = subset;
        _labels = of._labels;
        _keys = of._keys;
    }

    public IReadOnlyList<LoadedResult> All { get; }

    /// <summary>Some of the runs, keeping their labels and ids (the page's filter matches by id).</summary>
    public RunSet Where(Func<LoadedResult, bool> predicate) => new(All.Where(predicate).ToList(), this);

    public string Label(LoadedResult r) => _labels[r];

    public RunKey Key(LoadedResult r) => _keys[r];

    public string Id(LoadedResult r) => _keys[r].Id;

    /// <summary>The machine in a few words: the GPU a CUDA run used (with its count), else the CPU model and its cores.</summary>
    public static string Machine(ResultDocument d)
    {
        if (d.Hardware is not { } hw)
        {
            return "machine not recorded";
        }

        if (d.Backend.Contains("cuda", StringComparison.OrdinalIgnoreCase) && hw.Gpus is { Count: > 0 } gpus)
        {
            return gpus.Count == 1 ? gpus[0].Name : $"{gpus.Count} x {gpus[0].Name}";
        }

        return hw.Cpu is { } cpu ? $"{cpu.Model} ({cpu.LogicalCores} cores)" : "CPU not recorded";
    }

    /// <summary>Settings that tell runs of one scenario apart, in the order a reader looks for them.</summary>
    private static readonly string[] DistinguishingSettings = [ConfigKeys.ModelConfig, ConfigKeys.Batch, ConfigKeys.Workers, ConfigKeys.Threads, ConfigKeys.Dtype, ConfigKeys.PromptTokens, ConfigKeys.NewTokens];

    /// <summary>
    /// Short distinct names: the scenario (with the workload when several are shown); where a
    /// scenario repeats, the settings that differ ("single, batch 16"), else the file name.
    /// </summary>
    private static Dictionary<LoadedResult, string> Labels(IReadOnlyList<LoadedResult> results)
    {
        var labels = new Dictionary<LoadedResult, string>();
        bool workloads = results.Select(x => x.Document.Workload).Distinct().Count() > 1;
        foreach (var group in results.GroupBy(r => $"{r.Document.Workload} {r.Document.Scenario}"))
        {
            var members = group.ToList();
            var differing = DistinguishingSettings
                .Where(k => members.Select(m => DocumentValues.AsElement(m.Document.Config.GetValueOrDefault(k))?.ToString() ?? "").Distinct().Count() > 1)
                .ToList();
            foreach (LoadedResult r in members)
            {
                string name = workloads ? group.Key : r.Document.Scenario;
                if (members.Count > 1 && differing.Count > 0)
                {
                    name += ", " + string.Join(", ", differing.Select(k => $"{k.Replace('_', ' ')} {DocumentValues.AsElement(r.Document.Config.GetValueOrDefault(k))?.ToString() ?? "-"}"));
                }

                labels[r] = name;
            }
        }

        // Still the same name: the file tells them apart.
        foreach (var same in labels.GroupBy(kv => kv.Value).Where(g => g.Count() > 1).ToList())
        {
            foreach (var kv in same)
            {
                labels[kv.Key] = $"{kv.Value} ({Path.GetFileNameWithoutExtension(kv.Key.Path)})";
            }
        }

        return labels;
    }
}
