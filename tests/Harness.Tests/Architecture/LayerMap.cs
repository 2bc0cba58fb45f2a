namespace Harness.Tests.Architecture;

/// <summary>
/// The layers of the core (assembly Harness.Core), bottom to top: the one place that says which
/// namespace belongs to which unit and layer (docs/architecture.md, "Layers"). A unit is one key
/// below, its sub-namespaces included; a namespace belongs to the longest key that prefixes it.
/// The root key <c>Harness</c> holds the root namespace only, so that a new folder must be named here.
/// A unit may use its own layer and those below; between units, no cycle.
/// </summary>
public static class LayerMap
{
    /// <summary>The units, as (namespace key, layer, what it holds).</summary>
    public static readonly IReadOnlyList<LayerUnit> Units =
    [
        // 1. foundation: what every other layer builds on, with no knowledge of engines or results.
        new("Harness", 1, "the root: HarnessException and its exit codes"),
        new("Harness.Metrics", 1, "the metric catalog, config keys and condition names"),
        new("Harness.Measurement", 1, "histograms, statistics, request outcomes and counts"),
        new("Harness.Hardware", 1, "the host and device description"),
        new("Harness.Telemetry", 1, "telemetry sources, the sampler and its report"),
        new("Harness.Formatting", 1, "Markdown tables and other text helpers"),
        new("Harness.Tokenization", 1, "tokenizers"),
        new("Harness.Validity", 1, "the ValidityCondition record and the condition-name catalog"),

        // 2. engine: runs a workload and measures it.
        new("Harness.Engine", 2, "the engine, its workloads contract and scenarios"),

        // 3. results and running: what a run produces and how a run is driven.
        new("Harness.Results", 3, "result documents, their reader and the validity rules"),
        new("Harness.Running", 3, "one run end to end: request, output, progress"),
        new("Harness.Backends", 3, "backend specs and the workload registry"),
        new("Harness.Telemetry.Prometheus", 3, "live metrics, which publish results"),
        new("Harness.Trust.Disturbance", 3, "the disturbance judgement made when a result is built"),

        // 4. LLM: decoding, datasets, server metrics and models.
        new("Harness.Decoding", 4, "decoders, generate and serving measurements"),
        new("Harness.Datasets", 4, "prompt datasets and traces"),
        new("Harness.ServerMetrics", 4, "scraping a server's own metrics"),
        new("Harness.Models", 4, "the model catalog and model files"),

        // 5. agents: agent jobs, tools and their sweeps.
        new("Harness.Agents", 5, "agents, jobs, tools, observers"),

        // 6. analysis: reads results and compares, projects and reports them.
        new("Harness.Gate", 6, "the statistical CI gate"),
        new("Harness.Trust", 6, "noise and comparability judgements"),
        new("Harness.Fleet", 6, "fleet runs and their merge"),
        new("Harness.Projection", 6, "projections to other hardware"),
        new("Harness.Planning", 6, "capacity planning"),
        new("Harness.Cost", 6, "cost annotations"),
        new("Harness.Reports", 6, "HTML and Markdown reports"),
    ];

    /// <summary>The unit of a namespace, or null when no key holds it.</summary>
    public static LayerUnit? UnitOf(string ns) => UnitOf(Units, ns);

    /// <summary>The unit of a namespace in the given map: the longest key that prefixes it (the root key exactly).</summary>
    public static LayerUnit? UnitOf(IReadOnlyList<LayerUnit> units, string ns)
    {
        LayerUnit? best = null;
        foreach (LayerUnit unit in units)
        {
            bool holds = ns == unit.Key
                || (unit.Key.Contains('.', StringComparison.Ordinal) && ns.StartsWith(unit.Key + ".", StringComparison.Ordinal));
            if (holds && (best is null || unit.Key.Length > best.Key.Length))
            {
                best = unit;
            }
        }

        return best;
    }
}

/// <summary>One unit of the layer map: a namespace key, its layer (1 = bottom) and what it holds.</summary>
public sealed record LayerUnit(string Key, int Layer, string Holds);
