using Xunit.Abstractions;

namespace Harness.Tests.Architecture;

/// <summary>
/// The core's layers (LayerMap) hold in the compiled Harness.Core.dll: no unit uses a higher layer, no two
/// units use each other through any path, and every namespace of the core belongs to a unit.
/// </summary>
public sealed class LayeringTests(ITestOutputHelper output)
{
    private static readonly Lazy<(IReadOnlySet<string> Namespaces, IReadOnlyList<TypeReferenceEdge> Edges)> Core =
        new(() => AssemblyReferences.Read(typeof(HarnessException).Assembly.Location));

    [Fact]
    public void Core_uses_only_its_own_layer_and_those_below_with_no_cycle_between_units()
    {
        LayerReport report = LayerChecker.Check(LayerMap.Units, Core.Value.Edges, new HashSet<(string, string)>());
        output.WriteLine("Unit dependency matrix of Harness.Core (layer, unit -> unit and how many of its types use it):");
        output.WriteLine(report.Matrix());

        Assert.True(report.Ok, "The core's layers are broken (tests/Harness.Tests/Architecture/LayerMap.cs):\n"
            + report.Violations() + "\nUnit dependency matrix:\n" + report.Matrix());
    }

    [Fact]
    public void Every_namespace_of_the_core_belongs_to_a_unit()
    {
        Assert.NotEmpty(Core.Value.Namespaces);
        string[] unmapped = Core.Value.Namespaces.Where(ns => LayerMap.UnitOf(ns) is null).ToArray();
        Assert.True(unmapped.Length == 0, "Namespaces with no unit in LayerMap.Units: " + string.Join(", ", unmapped));
    }

    [Fact]
    public void Reader_sees_references_in_signatures_fields_and_method_bodies()
    {
        var edges = Core.Value.Edges.Select(e => (e.FromType, e.ToType)).ToHashSet();

        // A property's type, a generic argument of a property's type, and a call inside a method body only.
        Assert.Contains(("Harness.Running.RunOutput", "Harness.Running.IResultPrice"), edges);
        Assert.Contains(("Harness.Telemetry.SourceHealth", "Harness.Measurement.ErrorCount"), edges);
        Assert.Contains(("Harness.Cost.PriceOffer", "Harness.Cost.ResultCost"), edges);
        Assert.DoesNotContain(edges, e => e.FromType == e.ToType);
        Assert.DoesNotContain(edges, e => (e.FromType + e.ToType).Contains('<', StringComparison.Ordinal));
    }

    [Fact]
    public void Checker_reports_an_upward_reference_and_a_cycle()
    {
        LayerUnit[] units =
        [
            new("Lib.Low", 1, "bottom"),
            new("Lib.Side", 1, "beside the bottom"),
            new("Lib.High", 2, "top"),
        ];
        TypeReferenceEdge[] references =
        [
            new("Lib.Low.A", "Lib.Low", "Lib.Low.A.Run", "Lib.High.H", "Lib.High"),
            new("Lib.Low.A", "Lib.Low", "Lib.Low.A.Side", "Lib.Side.S", "Lib.Side"),
            new("Lib.Side.S", "Lib.Side.Inner", "Lib.Side.Inner.S.Back", "Lib.Low.B", "Lib.Low"),
            new("Lib.High.H", "Lib.High", "Lib.High.H.Use", "Lib.Low.B", "Lib.Low"),
            new("Lib.Low.A", "Lib.Low", "Lib.Low.A.Self", "Lib.Low.B", "Lib.Low"),
        ];

        LayerReport report = LayerChecker.Check(units, references, new HashSet<(string, string)>());

        Assert.False(report.Ok);
        UnitEdge upward = Assert.Single(report.Upward);
        Assert.Equal(("Lib.Low", "Lib.High"), (upward.From.Key, upward.To.Key));
        Assert.Contains("Lib.Low.A.Run uses Lib.High.H", upward.Example, StringComparison.Ordinal);
        IReadOnlyList<UnitEdge> cycle = Assert.Single(report.Cycles);
        Assert.Equal(
            ["Lib.High", "Lib.Low", "Lib.Side"],
            cycle.SelectMany(e => new[] { e.From.Key, e.To.Key }).Distinct().Order(StringComparer.Ordinal));
        Assert.Contains("upward: Lib.Low (1) → Lib.High (2)", report.Violations(), StringComparison.Ordinal);
        Assert.Contains("cycle between Lib.High, Lib.Low, Lib.Side", report.Violations(), StringComparison.Ordinal);
        Assert.Contains("Side 1", report.Matrix(), StringComparison.Ordinal);

        var allowed = new HashSet<(string, string)> { ("Lib.Low.A", "Lib.High.H"), ("Lib.Side.S", "Lib.Low.B") };
        Assert.True(LayerChecker.Check(units, references, allowed).Ok);
    }

    [Fact]
    public void A_namespace_belongs_to_the_longest_key_and_the_root_key_holds_only_the_root()
    {
        Assert.Equal("Harness.Telemetry.Prometheus", LayerMap.UnitOf("Harness.Telemetry.Prometheus.Live")?.Key);
        Assert.Equal("Harness.Telemetry", LayerMap.UnitOf("Harness.Telemetry")?.Key);
        Assert.Equal("Harness.Trust", LayerMap.UnitOf("Harness.Trust.Noise")?.Key);
        Assert.Equal("Harness", LayerMap.UnitOf("Harness")?.Key);
        Assert.Null(LayerMap.UnitOf("Harness.NewFolder"));
        Assert.Null(LayerMap.UnitOf("Harness.TelemetryX"));
    }
}
