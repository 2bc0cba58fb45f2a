using Harness.Hardware;

namespace Harness.Tests.Hardware;

public class ProcessMemoryTests
{
    [Fact]
    public void Resident_and_peak_memory_are_read_from_proc_and_count_what_the_process_touches()
    {
        var block = new byte[128 << 20];
        Array.Fill(block, (byte)1);
        long resident = ProcessMemory.ResidentBytes()!.Value;
        long peak = ProcessMemory.PeakResidentBytes()!.Value;
        Assert.True(resident >= block.Length, $"resident {resident} after touching {block.Length} bytes");
        Assert.True(peak >= resident, $"peak {peak} below resident {resident}");
        GC.KeepAlive(block);
    }
}
