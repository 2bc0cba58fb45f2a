using System.CommandLine;
using System.Text.Json;
using Harness.Backends;
using Harness.Hardware;
using Harness.Results;

namespace Harness.Cli.Commands;

/// <summary><c>harness hw</c>: the hardware fingerprint that every result file carries, as JSON.</summary>
public static class HwCommand
{
    public static Command Create(Lazy<BackendRegistry> registry, TextWriter output)
    {
        var command = new Command("hw", "Print this machine's hardware fingerprint as JSON (the result files' 'hardware' section).");
        command.SetAction(_ =>
        {
            HardwareFingerprint hw = HardwareProbe.Probe(registry.Value.PackageVersions);
            output.WriteLine(JsonSerializer.Serialize(hw, ResultJson.Options));
            return ExitCodes.Ok;
        });
        return command;
    }
}
