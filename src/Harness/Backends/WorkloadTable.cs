using Harness.Engine;

namespace Harness.Backends;

/// <summary>
/// A provider's workloads, each declared once: the name and description <c>harness list</c> prints, and
/// how it is built. A provider answers <see cref="IBackendProvider.Workloads"/> and
/// <see cref="IBackendProvider.Create"/> from here, so a new workload is one entry, not a list line
/// and a switch arm that can drift apart.
/// </summary>
public sealed class WorkloadTable
{
    private readonly string _runtime;
    private readonly IReadOnlyList<WorkloadEntry> _entries;

    public WorkloadTable(string runtime, IReadOnlyList<WorkloadEntry> entries)
    {
        string? twice = entries.GroupBy(e => e.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1)?.Key;
        if (twice is not null)
        {
            throw new ArgumentException($"workload '{twice}' is declared twice for {runtime}", nameof(entries));
        }

        _runtime = runtime;
        _entries = entries;
        Infos = entries.Select(e => new WorkloadInfo(e.Name, e.Description) { Settings = e.Settings }).ToList();
    }

    /// <summary>Name and description of each workload, in declaration order.</summary>
    public IReadOnlyList<WorkloadInfo> Infos { get; }

    /// <summary>
    /// Builds the workload named <paramref name="workload"/> after checking its <c>--set</c> settings
    /// against its declaration; an unknown name, key or value is bad input.
    /// </summary>
    public IWorkload Create(string workload, BackendSpec backend, WorkloadOptions options)
    {
        string known = string.Join(", ", Infos.Select(i => i.Name));
        WorkloadEntry entry = _entries.FirstOrDefault(e => e.Name == workload)
            ?? throw HarnessException.BadInput($"Unknown {_runtime} workload '{workload}'; known: {known}.");
        entry.Settings.Check($"Workload '{workload}' on {backend.Runtime}", options.Extra);
        return entry.Create(backend, options);
    }
}

/// <summary>One workload of a provider: its name, its line in <c>harness list</c>, its constructor and its <c>--set</c> keys.</summary>
public sealed record WorkloadEntry(string Name, string Description, Func<BackendSpec, WorkloadOptions, IWorkload> Create)
{
    /// <summary>The <c>--set</c> keys the workload reads; any other key is refused before it is created.</summary>
    public SettingsSchema Settings { get; init; } = SettingsSchema.None;
}
