using Harness.Backends;
using Harness.Measurement;
using Harness.Running;
using Harness.Testing;
using Harness.Tests.Fakes;

namespace Harness.Tests.Running;

/// <summary>One duet side: the windows it counts on the agreed grid, the rendezvous, and where the sides are placed.</summary>
public class DuetSideTests
{
    private sealed class FixedRendezvous(TimeSpan after, bool arrives = true) : IDuetRendezvous
    {
        public DateTime? Agree(DateTime readyUtc, CancellationToken cancellationToken) => arrives ? readyUtc + after : null;
    }

    private static string Slots(DuetSlots s) => CpuAffinity.Describe(s.CpusA) + "|" + CpuAffinity.Describe(s.CpusB);

    private static DuetSideSettings Settings(double windowS = 1) => new("job", 1, "a", [0], null, windowS, TimeSpan.FromMinutes(1));

    [Fact]
    public void The_recorder_waits_for_the_agreed_instant_and_counts_each_request_in_the_window_of_its_end()
    {
        var clock = FakeClock.Milliseconds();
        var recorder = new DuetRecorder(Settings(), clock, new FixedRendezvous(TimeSpan.FromMilliseconds(700)), clock.Advance);
        DateTime ready = clock.UtcNow;

        recorder.PhaseStarted(RunPhases.Measuring, clock.Timestamp);
        Assert.Equal(ready.AddMilliseconds(700), clock.UtcNow); // it slept until the agreed start
        foreach (long gapMs in new long[] { 100, 300, 700, 200, 900, 50 })
        {
            clock.AdvanceMs(gapMs);
            recorder.RequestEnded(RequestOutcome.Ok, clock.FromTimeSpan(TimeSpan.FromMilliseconds(40)), 1, 1);
        }

        recorder.RequestEnded(RequestOutcome.Error, 5, 1, 1);
        clock.AdvanceMs(500);
        recorder.PhaseStarted(RunPhases.Done, clock.Timestamp); // 2.75 s after the start: two full windows

        var w = recorder.Windows();
        Assert.True(w.Synchronized);
        Assert.Equal(ready.AddMilliseconds(700), w.StartUtc);
        Assert.Equal([2, 2], w.Completions); // ends at 0.1, 0.4 | 1.1, 1.3 | 2.2, 2.25 (cut window dropped)
        Assert.Equal([80.0, 80.0], w.LatencySumMs);
    }

    [Fact]
    public void Without_a_partner_the_windows_start_at_once_and_are_marked_unsynchronized()
    {
        var clock = FakeClock.Milliseconds();
        var recorder = new DuetRecorder(Settings(0.5), clock, new FixedRendezvous(TimeSpan.Zero, arrives: false), clock.Advance);

        recorder.PhaseStarted(RunPhases.Measuring, clock.Timestamp);
        clock.AdvanceMs(1200);
        recorder.RequestEnded(RequestOutcome.Ok, 10, 1, 1);
        recorder.PhaseStarted(RunPhases.Done, clock.Timestamp);

        var w = recorder.Windows();
        Assert.False(w.Synchronized);
        Assert.Equal([0, 0], w.Completions);
    }

    [Fact]
    public async Task Both_sides_of_a_file_rendezvous_agree_on_the_same_start()
    {
        using var dir = new SyntheticResults.TempFolder();
        DateTime t0 = new(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        var a = Task.Run(() => new FileRendezvous(dir.Path, "a", "b", TimeSpan.FromSeconds(30)).Agree(t0, CancellationToken.None));
        var b = Task.Run(() => new FileRendezvous(dir.Path, "b", "a", TimeSpan.FromSeconds(30)).Agree(t0.AddSeconds(3),
            CancellationToken.None));

        DateTime? startA = await a, startB = await b;

        Assert.Equal(t0.AddSeconds(3) + FileRendezvous.Margin, startA);
        Assert.Equal(startA, startB);
        Assert.Null(new FileRendezvous(Path.Combine(dir.Path, "alone"), "a", "b", TimeSpan.FromMilliseconds(50)).Agree(t0,
            CancellationToken.None));
    }

    [Fact]
    public void The_sides_take_half_the_cpus_each_and_swap_every_round()
    {
        DuetPlacement two = DuetPlacement.Plan(BackendSpec.Parse("onnx:cpu"), BackendSpec.Parse("onnx:cpu"), [0, 1], 0);
        DuetPlacement five = DuetPlacement.Plan(BackendSpec.Parse("onnx:cpu"), BackendSpec.Parse("onnx:cpu"), [0, 1, 2, 3, 4], 0);

        Assert.Equal("0|1", Slots(two.Round(1)));
        Assert.Equal("1|0", Slots(two.Round(2)));
        Assert.Equal("0|1", Slots(two.Round(3)));
        Assert.Equal("0,1|2,3", Slots(five.Round(1)));
        Assert.Null(two.Round(1).GpuA);
    }

    [Fact]
    public void Two_gpus_give_one_per_side_swapped_with_the_cores()
    {
        DuetPlacement p = DuetPlacement.Plan(BackendSpec.Parse("onnx:cuda"), BackendSpec.Parse("torch:cuda"), [0, 1, 2, 3], 2);

        Assert.Equal((0, 1), (p.Round(1).GpuA, p.Round(1).GpuB));
        Assert.Equal((1, 0), (p.Round(2).GpuA, p.Round(2).GpuB));
    }

    [Theory]
    [InlineData("onnx:cuda", "onnx:cuda", 1,
        "--duet cannot run a CUDA backend on a node with 1 GPU(s): one GPU shared by base and candidate")]
    [InlineData("onnx:cuda", "onnx:cuda", 0, "--duet cannot run a CUDA backend on a node with 0 GPU(s)")]
    [InlineData("onnx:cuda:1", "onnx:cuda", 2, "--duet chooses the GPUs itself")]
    [InlineData("onnx:cpu", "onnx:cuda", 2, "--duet compares like with like")]
    [InlineData("openai:http://127.0.0.1:8000/v1", "openai:http://127.0.0.1:8000/v1", 0, "measures the server")]
    public void Where_duet_does_not_apply_it_is_refused_with_exit_2(string a, string b, int gpus, string sentence)
    {
        var e = Assert.Throws<HarnessException>(() => DuetPlacement.Plan(BackendSpec.Parse(a), BackendSpec.Parse(b), [0, 1], gpus));

        Assert.Equal(ExitCodes.BadInput, e.ExitCode);
        Assert.Contains(sentence, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void One_cpu_is_refused()
    {
        var e = Assert.Throws<HarnessException>(() => DuetPlacement.Plan(BackendSpec.Parse("onnx:cpu"), BackendSpec.Parse("onnx:cpu"), [3],
            0));

        Assert.Contains("two or more CPUs", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Cpu_lists_parse_print_and_mask()
    {
        Assert.Equal([0, 1, 2, 3, 6], CpuAffinity.ParseList("0-3, 6"));
        Assert.Equal("0,2", CpuAffinity.Describe([2, 0]));
        Assert.Equal([1, 9], CpuAffinity.Parse(CpuAffinity.Mask([9, 1])));
        Assert.Equal(ExitCodes.BadInput, Assert.Throws<HarnessException>(() => CpuAffinity.ParseList("a-b")).ExitCode);
        Assert.NotEmpty(CpuAffinity.Allowed());
    }

    [Fact]
    public void A_side_is_started_as_the_hidden_duet_side_command_with_its_place()
    {
        var s = new DuetSideLaunch(["dotnet", "/x/harness.dll"], "gemm --set size=64", "j", 2, "b", [1], 0, 0.5, "/o/b.json", "/o/sync",
            "/o/b.log");

        Assert.Equal(["/x/harness.dll", "duet-side", "--job", "j", "--pair", "2", "--side", "b", "--cpus", "1", "--window", "0.5",
            "--sync", "/o/sync",
            "--out", "/o/b.json", "--device", "cuda:0", "--run", "gemm --set size=64"], s.Arguments());
    }
}
