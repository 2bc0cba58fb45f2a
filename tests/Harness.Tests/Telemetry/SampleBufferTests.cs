using Harness.Telemetry;

namespace Harness.Tests.Telemetry;

public class SampleBufferTests
{
    [Fact]
    public void Keeps_every_sample_until_full()
    {
        var b = new SampleBuffer<int>(capacity: 4096);
        for (int i = 0; i < 3000; i++)
        {
            b.Add(i, i);
        }

        Assert.Equal(3000, b.Count);
        Assert.Equal(0, b.Thinnings);
        Assert.Equal(2999, b.Values[^1]);
    }

    [Fact]
    public void When_full_thins_out_older_samples_but_keeps_the_first_and_the_newest()
    {
        var b = new SampleBuffer<int>(capacity: 8);
        for (int i = 0; i < 20; i++)
        {
            b.Add(i * 10, i);
        }

        Assert.True(b.Count <= 8);
        Assert.True(b.Thinnings > 0);
        Assert.Equal(0, b.Timestamps[0]);
        Assert.Equal(190, b.Timestamps[^1]);
        Assert.True(b.Timestamps.ToArray().SequenceEqual(b.Timestamps.ToArray().Order()));
    }
}
