using System.CommandLine;
using System.Text.Json;
using Harness.Backends;
using Harness.Hardware;
using Harness.Results;

namespace Harness.Cli.Commands;

/// <summary>
/// <c>harness hw</c>: the hardware fingerprint that every result file carries, as JSON; with
/// <c>--label</c>, the results folder name of this machine (so a CI job finds its own baseline).
/// </summary>
public static class HwCommand
{
    public static Command Create(Lazy<BackendRegistry> registry, TextWriter output)
    {
        var label = new Option<bool>("--label") { Description = "Print only this machine's label, the folder its results go to under results/ (e.g. cpu-amd-epyc-avx512-2c, nvidia-h200-x8)." };
        var command = new Command("hw", "Print this machine's hardware fingerprint as JSON (the result files' 'hardware' section).") { label };
        command.SetAction(parse =>
        {
            HardwareFingerprint hw = HardwareProbe.Probe(registry.Value.PackageVersions);
            output.WriteLine(parse.GetValue(label) ? HardwareProbe.MachineLabel(hw) : JsonSerializer.Serialize(hw, ResultJson.Options));
            return ExitCodes.Ok;
        });
        return command;
    }
}
