namespace Harness.Telemetry;

/// <summary>
/// NVML's clock-event ("throttle") reason bits, nvml.h nvmlClocksEventReason*. Idle and
/// application-clock settings are not throttling; every other bit slows the clocks down.
/// </summary>
public static class ClockEventReasons
{
    public const ulong GpuIdle = 0x1;
    public const ulong ApplicationsClocksSetting = 0x2;

    /// <summary>The reasons counted as throttling, with the names used in the result and in metrics.</summary>
    public static IReadOnlyList<(ulong Bit, string Name)> Throttling { get; } =
    [
        (0x4, "sw_power_cap"),
        (0x8, "hw_slowdown"),
        (0x10, "sync_boost"),
        (0x20, "sw_thermal"),
        (0x40, "hw_thermal"),
        (0x80, "hw_power_brake"),
        (0x100, "display_clock"),
    ];

    /// <summary>Mask of every throttling bit.</summary>
    public static ulong ThrottlingMask { get; } = Throttling.Aggregate(0UL, (m, r) => m | r.Bit);

    public static bool IsThrottled(ulong reasons) => (reasons & ThrottlingMask) != 0;

    /// <summary>The software power cap: how a card normally runs at its power limit, not a disturbance.</summary>
    public const ulong SwPowerCap = 0x4;

    /// <summary>Thermal and hardware slowdown (hw_slowdown, sw_thermal, hw_thermal, hw_power_brake): the card was held back by its surroundings.</summary>
    public const ulong HardwareSlowdownMask = 0x8 | 0x20 | 0x40 | 0x80;
}
