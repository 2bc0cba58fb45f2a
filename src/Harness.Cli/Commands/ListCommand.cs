using System.CommandLine;
using Harness.Backends;

namespace Harness.Cli.Commands;

/// <summary><c>harness list</c>: workloads with their <c>--set</c> keys, and backends, and which backends are usable here.</summary>
public static class ListCommand
{
    public static Command Create(Lazy<BackendRegistry> registry, TextWriter output)
    {
        var command = new Command(
            "list", "List workloads (with the --set keys each takes) and backends, and which backends are usable on this machine.");
        command.SetAction(_ =>
        {
            output.WriteLine("Workloads:");
            foreach (IBackendProvider p in registry.Value.Providers)
            {
                foreach (WorkloadInfo w in p.Workloads)
                {
                    output.WriteLine($"  {w.Name,-12} [{p.Runtime}] {w.Description}");
                    foreach (string key in w.Settings.Describe())
                    {
                        output.WriteLine($"  {"",-12}   --set {key}");
                    }
                }
            }

            output.WriteLine();
            output.WriteLine("Backends:");
            foreach (IBackendProvider p in registry.Value.Providers)
            {
                foreach (string device in p.Devices)
                {
                    DoctorCheck c = p.CheckDevice(device);
                    output.WriteLine($"  {p.Runtime + ":" + device,-12} {(c.Ok ? "usable" : "not usable")}: {c.Detail}");
                }
            }

            return ExitCodes.Ok;
        });
        return command;
    }
}
