using Harness.Telemetry;

namespace Harness.Testing;

/// <summary>
/// The allowance tests that run real workloads pass to the quiet-host rule. The suite runs its test
/// assemblies in parallel on a 2-core machine that other engineers share, so the machine is never
/// quiet: such a run would be INVALID for a reason the test is not about. They keep it valid but
/// noisy (the result still records what disturbed it); the rule itself is tested in DisturbanceTests
/// and, with a CPU hog the test starts, in QuietHostIntegrationTests.
/// </summary>
internal static class SharedMachine
{
    /// <summary>For a <c>RunRequest</c>: the default limits, allowed noisy.</summary>
    public static DisturbanceLimits Limits { get; } = DisturbanceLimits.Default with { AllowNoisy = true };

    /// <summary>For a command line: <c>harness run ... --allow-noisy</c>.</summary>
    public const string AllowNoisy = "--allow-noisy";
}
