namespace Harness.Tests.Fakes;

/// <summary>Tests that compare real-clock durations run alone, not beside CPU-heavy tests.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TimingCollection
{
    public const string Name = "real-clock timing";
}
