using Harness.Engine;

namespace Harness.Backends;

/// <summary>The composite of every backend provider: resolves a workload name and a backend spec.</summary>
public sealed class BackendRegistry
{
    private readonly IReadOnlyList<IBackendProvider> _providers;

    public BackendRegistry(IEnumerable<IBackendProvider> providers) => _providers = providers.ToList();

    public IReadOnlyList<IBackendProvider> Providers => _providers;

    public IReadOnlyDictionary<string, string?> PackageVersions =>
        _providers.Select(p => p.PackageVersion).ToDictionary(kv => kv.Key, kv => kv.Value);

    public IBackendProvider Resolve(BackendSpec spec)
    {
        IBackendProvider? provider = _providers.FirstOrDefault(p => p.Runtime == spec.Runtime);
        if (provider is null)
        {
            throw HarnessException.BadInput($"Unknown backend runtime '{spec.Runtime}'; known: {string.Join(", ", _providers.Select(p => p.Runtime))}.");
        }

        if (!provider.Devices.Contains(spec.Device))
        {
            throw HarnessException.BadInput($"Backend '{spec}' names device '{spec.Device}', which {spec.Runtime} does not support; use one of {string.Join(", ", provider.Devices)}.");
        }

        return provider;
    }

    /// <summary>Creates the workload after checking that the name exists, its settings are declared and the device is usable.</summary>
    public IWorkload Create(string workload, BackendSpec spec, WorkloadOptions options)
    {
        IBackendProvider provider = Resolve(spec);
        WorkloadInfo? info = provider.Workloads.FirstOrDefault(w => w.Name == workload);
        if (info is null)
        {
            var all = _providers.SelectMany(p => p.Workloads.Select(w => w.Name)).Distinct();
            throw HarnessException.BadInput($"Unknown workload '{workload}' for backend {spec.Runtime}; known: {string.Join(", ", all)}.");
        }

        // Every provider's workloads, with a table or without: the --set keys before anything connects or loads.
        info.Settings.Check($"Workload '{workload}' on {spec.Runtime}", options.Extra);
        WeightQuantization.CheckSupported(options.Quantization, info.Settings, $"{workload} on {spec}");

        DoctorCheck device = provider.CheckDevice(spec.Device);
        if (!device.Ok)
        {
            throw HarnessException.BadInput($"Backend {spec} is not usable here: {device.Detail}");
        }

        return provider.Create(workload, spec, options);
    }
}
