using Harness.Backends;
using Harness.Engine;
using Harness.Tests.Fakes;

namespace Harness.Tests.Backends;

public class WorkloadTableTests
{
    private static readonly WorkloadTable Table = new("fake",
    [
        new("spin", "spins 1 ms", (b, o) => new SpinWorkload(TimeSpan.FromMilliseconds(1))),
        new("spin-long", "spins 5 ms", (b, o) => new SpinWorkload(TimeSpan.FromMilliseconds(5))),
    ]);

    [Fact]
    public void Lists_each_workload_once_in_declaration_order()
    {
        Assert.Equal(["spin", "spin-long"], Table.Infos.Select(i => i.Name));
        Assert.Equal("spins 5 ms", Table.Infos[1].Description);
    }

    [Fact]
    public void Builds_the_named_workload()
    {
        using IWorkload w = Table.Create("spin-long", BackendSpec.Parse("fake:cpu"), new WorkloadOptions());
        WorkloadDescription d = w.Prepare(new WorkloadContext(1, 1, 42, default));
        Assert.Equal(5.0, d.Details["spin_ms"]);
    }

    [Fact]
    public void An_unknown_name_is_one_sentence_naming_the_known_ones()
    {
        var e = Assert.Throws<HarnessException>(() => Table.Create("nosuch", BackendSpec.Parse("fake:cpu"), new WorkloadOptions()));
        Assert.Equal(ExitCodes.BadInput, e.ExitCode);
        Assert.Equal("Unknown fake workload 'nosuch'; known: spin, spin-long.", e.Message);
    }

    [Fact]
    public void A_workload_declared_without_settings_refuses_every_key_saying_it_takes_none()
    {
        var options = new WorkloadOptions { Extra = new Dictionary<string, string> { ["spin_ms"] = "2" } };
        var e = Assert.Throws<HarnessException>(() => Table.Create("spin", BackendSpec.Parse("fake:cpu"), options));
        Assert.Equal(ExitCodes.BadInput, e.ExitCode);
        Assert.Equal("Workload 'spin' on fake has no setting 'spin_ms'; it takes no settings.", e.Message);
    }

    [Fact]
    public void A_name_declared_twice_is_refused_when_the_provider_is_built()
    {
        Assert.Throws<ArgumentException>(() => new WorkloadTable("fake",
        [
            new("spin", "a", (b, o) => new SpinWorkload(TimeSpan.Zero)),
            new("spin", "b", (b, o) => new SpinWorkload(TimeSpan.Zero)),
        ]));
    }
}
