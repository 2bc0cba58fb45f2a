namespace Harness.Measurement;

/// <summary>
/// The measured window of a run on its clock, with the wall-clock reading over the same span for the clock check:
/// what every kind of measurement (the engine's requests, the agents' turns) has in common.
/// </summary>
/// <param name="StartedUtc">When the measured phase started.</param>
/// <param name="Start">The window's start, in clock ticks.</param>
/// <param name="End">The window's end, in clock ticks.</param>
/// <param name="Frequency">Clock ticks per second.</param>
/// <param name="Wall">Wall-clock time over the window, for the clock-anomaly check.</param>
/// <param name="Monotonic">Monotonic ticks over the span of <paramref name="Wall"/>; 0 when not taken (then the window is used).</param>
/// <param name="ClockUncertaintyTicks">How far apart, at most, the two clocks' readings at the window's edges were.</param>
public sealed record MeasuredWindow(
    DateTime StartedUtc, long Start, long End, long Frequency, TimeSpan Wall, long Monotonic = 0, long ClockUncertaintyTicks = 0)
{
    public double Seconds => (double)(End - Start) / Frequency;
}
