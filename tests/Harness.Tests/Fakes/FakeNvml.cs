using Harness.Hardware;

namespace Harness.Tests.Fakes;

/// <summary>NVML with scripted GPUs: each <see cref="ReadGpu"/> returns the device's current reading.</summary>
public sealed class FakeNvml : INvml
{
    private readonly GpuReading[] _current;

    public FakeNvml(int gpus = 1)
    {
        Gpus = Enumerable.Range(0, gpus).Select(i => new GpuInfo(i, $"Fake GPU {i}", $"GPU-0000000{i}-fake", "580.00", 80L << 30, 700)).ToList();
        _current = new GpuReading[gpus];
    }

    /// <summary>Listing these GPUs, with no readings scripted.</summary>
    public static FakeNvml With(params GpuInfo[] gpus) => new(0) { Gpus = gpus };

    public static FakeNvml Missing { get; } = new(0) { Available = false, UnavailableReason = "NVML (libnvidia-ml.so.1) was not found: no NVIDIA driver on this machine" };

    public bool Available { get; private init; } = true;

    public string? UnavailableReason { get; private init; }

    public IReadOnlyList<GpuInfo> Gpus { get; private init; }

    public int Reads { get; private set; }

    /// <summary>Reads that asked for the (costly) energy counter.</summary>
    public int EnergyReads { get; private set; }

    /// <summary>Added to every GPU's energy counter at each read, so the counter rises like a loaded card's.</summary>
    public ulong EnergyStepMj { get; set; }

    /// <summary>Throw from <see cref="ReadGpu"/>, as a broken driver might.</summary>
    public Exception? Fail { get; set; }

    public IReadOnlyList<GpuInfo> ListGpus() => Available ? Gpus : [];

    /// <summary>The processes each GPU lists (by index); a GPU without an entry cannot list them (null).</summary>
    public Dictionary<int, IReadOnlyList<GpuProcess>> Processes { get; } = [];

    public string? CudaDriverVersion { get; set; }

    public IReadOnlyList<GpuProcess>? ComputeProcesses(int index) => Processes.TryGetValue(index, out IReadOnlyList<GpuProcess>? p) ? p : null;

    public void Set(int index, GpuReading reading) => _current[index] = reading;

    public GpuReading ReadGpu(int index, bool withEnergy = true)
    {
        Reads++;
        EnergyReads += withEnergy ? 1 : 0;
        if (Fail is { } e)
        {
            throw e;
        }

        if (EnergyStepMj > 0)
        {
            lock (_current)
            {
                _current[index] = _current[index] with { EnergyMj = (_current[index].EnergyMj ?? 0) + EnergyStepMj };
            }
        }

        return withEnergy ? _current[index] : _current[index] with { EnergyMj = null };
    }

    /// <summary>A loaded GPU: 300 W, 30 J more at every read, busy, throttled by the power cap.</summary>
    public static FakeNvml Loaded()
    {
        var nvml = new FakeNvml { EnergyStepMj = 30_000 };
        nvml.Set(0, new GpuReading(300, 1_000_000, 0.97, 0.6, 20L << 30, 1755, 3201, 71, 0x4));
        return nvml;
    }
}
