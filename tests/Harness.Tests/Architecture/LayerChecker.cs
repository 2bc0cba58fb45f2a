using System.Globalization;
using System.Text;

namespace Harness.Tests.Architecture;

/// <summary>A reference between two units, with how many types of the first use the second and one example.</summary>
public sealed record UnitEdge(LayerUnit From, LayerUnit To, int Types, string Example);

/// <summary>What the checker found: references to a higher layer, cycles between units, and the unit matrix.</summary>
public sealed record LayerReport(
    IReadOnlyList<UnitEdge> Upward,
    IReadOnlyList<IReadOnlyList<UnitEdge>> Cycles,
    IReadOnlyList<UnitEdge> Edges,
    IReadOnlyList<LayerUnit> Units)
{
    public bool Ok => Upward.Count == 0 && Cycles.Count == 0;

    /// <summary>The violations, one per line: unit → unit, with one example member and the type it uses.</summary>
    public string Violations()
    {
        var text = new StringBuilder();
        foreach (UnitEdge e in Upward)
        {
            text.Append(CultureInfo.InvariantCulture, $"upward: {e.From.Key} ({e.From.Layer}) → {e.To.Key} ({e.To.Layer}): ")
                .Append(CultureInfo.InvariantCulture, $"{e.Types} type(s), e.g. {e.Example}\n");
        }

        foreach (IReadOnlyList<UnitEdge> cycle in Cycles)
        {
            IEnumerable<string> members = cycle.SelectMany(e => new[] { e.From.Key, e.To.Key }).Distinct().Order(StringComparer.Ordinal);
            text.Append(CultureInfo.InvariantCulture, $"cycle between {string.Join(", ", members)}:\n");
            foreach (UnitEdge e in cycle)
            {
                text.Append(CultureInfo.InvariantCulture, $"  {e.From.Key} → {e.To.Key}: {e.Types} type(s), e.g. {e.Example}\n");
            }
        }

        return text.ToString();
    }

    /// <summary>The unit dependency matrix: per unit, the units it uses and how many of its types do.</summary>
    public string Matrix()
    {
        var text = new StringBuilder();
        foreach (LayerUnit unit in Units.OrderBy(u => u.Layer).ThenBy(u => u.Key, StringComparer.Ordinal))
        {
            IEnumerable<string> uses = Edges.Where(e => e.From == unit)
                .OrderBy(e => e.To.Layer).ThenBy(e => e.To.Key, StringComparer.Ordinal)
                .Select(e => string.Create(CultureInfo.InvariantCulture, $"{Short(e.To)} {e.Types}"));
            text.Append(CultureInfo.InvariantCulture, $"{unit.Layer} {Short(unit),-20} -> {string.Join(", ", uses)}\n");
        }

        return text.ToString();
    }

    private static string Short(LayerUnit unit) => unit.Key switch
    {
        "Harness" => "(root)",
        string key when key.StartsWith("Harness.", StringComparison.Ordinal) => key["Harness.".Length..],
        string key => key,
    };
}

/// <summary>
/// Checks type references against a layer map: a unit may use its own layer and those below, and the
/// units' graph has no cycle (Tarjan's strongly connected components). References between types of one
/// unit are not edges; allowed references (from type, to type) are left out of the check, not of the matrix.
/// </summary>
public static class LayerChecker
{
    public static LayerReport Check(
        IReadOnlyList<LayerUnit> units,
        IEnumerable<TypeReferenceEdge> references,
        IReadOnlySet<(string FromType, string ToType)> allowed)
    {
        var all = new Dictionary<(LayerUnit, LayerUnit), List<TypeReferenceEdge>>();
        var checkedEdges = new Dictionary<(LayerUnit, LayerUnit), List<TypeReferenceEdge>>();
        foreach (TypeReferenceEdge r in references)
        {
            LayerUnit? from = LayerMap.UnitOf(units, r.FromNamespace);
            LayerUnit? to = LayerMap.UnitOf(units, r.ToNamespace);
            if (from is null || to is null || from == to)
            {
                continue;
            }

            Add(all, (from, to), r);
            if (!allowed.Contains((r.FromType, r.ToType)))
            {
                Add(checkedEdges, (from, to), r);
            }
        }

        List<UnitEdge> edges = all.Select(p => Summarise(p.Key, p.Value)).ToList();
        List<UnitEdge> graph = checkedEdges.Select(p => Summarise(p.Key, p.Value)).ToList();
        List<UnitEdge> upward = graph.Where(e => e.To.Layer > e.From.Layer)
            .OrderBy(e => e.From.Key, StringComparer.Ordinal).ThenBy(e => e.To.Key, StringComparer.Ordinal).ToList();
        var cycles = new List<IReadOnlyList<UnitEdge>>();
        foreach (HashSet<LayerUnit> component in StronglyConnected(units, graph).Where(c => c.Count > 1))
        {
            cycles.Add(graph.Where(e => component.Contains(e.From) && component.Contains(e.To))
                .OrderBy(e => e.From.Key, StringComparer.Ordinal).ThenBy(e => e.To.Key, StringComparer.Ordinal).ToList());
        }

        return new LayerReport(upward, cycles, edges, units);
    }

    private static void Add(
        Dictionary<(LayerUnit, LayerUnit), List<TypeReferenceEdge>> edges, (LayerUnit, LayerUnit) key, TypeReferenceEdge r)
    {
        if (!edges.TryGetValue(key, out List<TypeReferenceEdge>? list))
        {
            list = [];
            edges[key] = list;
        }

        list.Add(r);
    }

    private static UnitEdge Summarise((LayerUnit From, LayerUnit To) key, List<TypeReferenceEdge> references)
    {
        TypeReferenceEdge first = references.OrderBy(r => r.Member, StringComparer.Ordinal).First();
        int types = references.Select(r => r.FromType).Distinct(StringComparer.Ordinal).Count();
        return new UnitEdge(key.From, key.To, types, $"{first.Member} uses {first.ToType}");
    }

    /// <summary>Tarjan's algorithm over the units' graph.</summary>
    private static List<HashSet<LayerUnit>> StronglyConnected(IReadOnlyList<LayerUnit> units, List<UnitEdge> graph)
    {
        var next = units.ToDictionary(u => u, u => graph.Where(e => e.From == u).Select(e => e.To).ToList());
        var index = new Dictionary<LayerUnit, int>();
        var low = new Dictionary<LayerUnit, int>();
        var stack = new Stack<LayerUnit>();
        var onStack = new HashSet<LayerUnit>();
        var components = new List<HashSet<LayerUnit>>();

        void Visit(LayerUnit v)
        {
            index[v] = low[v] = index.Count;
            stack.Push(v);
            onStack.Add(v);
            foreach (LayerUnit w in next[v])
            {
                if (!index.TryGetValue(w, out int seen))
                {
                    Visit(w);
                    low[v] = Math.Min(low[v], low[w]);
                }
                else if (onStack.Contains(w))
                {
                    low[v] = Math.Min(low[v], seen);
                }
            }

            if (low[v] == index[v])
            {
                var component = new HashSet<LayerUnit>();
                LayerUnit w;
                do
                {
                    w = stack.Pop();
                    onStack.Remove(w);
                    component.Add(w);
                }
                while (w != v);
                components.Add(component);
            }
        }

        foreach (LayerUnit unit in units)
        {
            if (!index.ContainsKey(unit))
            {
                Visit(unit);
            }
        }

        return components;
    }
}
