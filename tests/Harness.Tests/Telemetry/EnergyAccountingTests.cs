using Harness.Backends;
using Harness.Hardware;
using Harness.Telemetry;

namespace Harness.Tests.Telemetry;

public class EnergyAccountingTests
{
    private static TelemetryReport Report(double? gpu0, double? gpu1, double? package) => new()
    {
        Enabled = true,
        WindowS = 10,
        Gpus =
        [
            new GpuTelemetry { Index = 0, EnergyJ = gpu0, EnergyMethod = gpu0 is null ? null : "counter", PowerPeakW = 400 },
            new GpuTelemetry { Index = 1, EnergyJ = gpu1, EnergyMethod = gpu1 is null ? null : "counter", PowerPeakW = 90 },
        ],
        Cpu = new CpuTelemetry { PackageEnergyJ = package, PackagePowerPeakW = 150, PackageEnergyNote = package is null ? "no RAPL package zone" : null },
    };

    [Fact]
    public void A_GPU_run_is_charged_its_own_GPU_and_gets_energy_per_unit()
    {
        TelemetryReport r = Report(3000, 700, null);

        EnergyAccounting.Apply(r, new EnergyScope([0], false), outputUnits: 6000, unit: "tokens");

        Assert.Equal(["gpu:0"], r.Energy!.Parts);
        Assert.Equal(3000, r.Energy.EnergyJ);
        Assert.Equal(300, r.Energy.AvgPowerW);
        Assert.Equal(400, r.Energy.PeakPowerW);
        Assert.Equal(0.5, r.Energy.JoulesPerUnit);
        Assert.Equal(2, r.Energy.UnitsPerJoule);
        Assert.Equal("counter", r.Energy.Method);
        Assert.Null(r.NodeEnergy); // no package energy: no whole-node figure
    }

    [Fact]
    public void Node_energy_adds_every_GPU_and_the_packages_when_package_energy_was_read()
    {
        TelemetryReport r = Report(3000, 700, 1300);

        EnergyAccounting.Apply(r, new EnergyScope([0], false), 6000, "tokens");

        Assert.Equal(["gpu:0", "gpu:1", "cpu_package"], r.NodeEnergy!.Parts);
        Assert.Equal(5000, r.NodeEnergy.EnergyJ);
        Assert.Null(r.NodeEnergy.PeakPowerW);
        Assert.Contains("whole node", r.NodeEnergy.Note);
    }

    [Fact]
    public void A_CPU_run_is_charged_the_packages_or_nothing()
    {
        TelemetryReport withRapl = Report(3000, 700, 1300);
        EnergyAccounting.Apply(withRapl, EnergyScope.Cpu, 100, "samples");
        Assert.Equal(["cpu_package"], withRapl.Energy!.Parts);
        Assert.Equal(13, withRapl.Energy.JoulesPerUnit);

        TelemetryReport without = Report(3000, 700, null);
        EnergyAccounting.Apply(without, EnergyScope.Cpu, 100, "samples");
        Assert.Null(without.Energy);
        Assert.Contains("no energy for the run: no RAPL package zone", without.Note);
    }

    [Fact]
    public void No_energy_is_reported_when_the_GPU_had_no_measurement()
    {
        TelemetryReport r = Report(null, 700, 1300);

        EnergyAccounting.Apply(r, new EnergyScope([0], false), 6000, "tokens");

        Assert.Null(r.Energy);
        Assert.Null(r.NodeEnergy);
    }

    [Fact]
    public void A_short_window_is_flagged_as_coarse()
    {
        TelemetryReport r = Report(3, 1, null);
        r.WindowS = 0.5;

        EnergyAccounting.Apply(r, new EnergyScope([0], false), 10, "tokens");

        Assert.Contains("shorter than 1 s", r.Energy!.Note);
    }

    [Theory]
    [InlineData("onnx:cpu", null, null)]
    [InlineData("onnx:cuda", null, 0)]
    [InlineData("onnx:cuda:1", null, 1)]
    [InlineData("onnx:cuda", "3,2", 3)]
    [InlineData("onnx:cuda:1", "3,2", 2)]
    [InlineData("onnx:cuda", "GPU-00000002", 2)]
    public void The_backend_device_maps_to_an_NVML_index(string backend, string? visible, int? expected)
    {
        var gpus = Enumerable.Range(0, 4).Select(i => new GpuInfo(i, "g", $"GPU-0000000{i}-x", "d", 1, null)).ToList();

        BackendSpec spec = BackendSpec.Parse(backend);
        EnergyScope scope = EnergyScope.ForBackend(spec.Target is not null, spec.Device, spec.DeviceId, gpus, visible);

        if (expected is null)
        {
            Assert.True(scope.CpuPackage);
            Assert.Empty(scope.GpuIndices);
        }
        else
        {
            Assert.Equal([expected.Value], scope.GpuIndices);
        }
    }
}
