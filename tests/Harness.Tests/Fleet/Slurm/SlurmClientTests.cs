using Harness.Fleet;
using Harness.Fleet.Slurm;
using Harness.Testing;

namespace Harness.Tests.Fleet.Slurm;

public sealed class SlurmClientTests
{
    [Theory]
    [InlineData("123_4", new[] { 4 })]
    [InlineData("123_[0-3]", new[] { 0, 1, 2, 3 })]
    [InlineData("123_[5,7-8%2]", new[] { 5, 7, 8 })]
    [InlineData("123", new int[0])]
    [InlineData("1234_5", new int[0])]
    [InlineData("123_4.batch", new int[0])]
    [InlineData("123_[9-2]", new int[0])]
    public void Array_task_ids_are_read_from_job_ids(string id, int[] expected)
    {
        Assert.Equal(expected, SlurmClient.Tasks(id, "123"));
    }

    [Fact]
    public void Squeue_lines_become_task_states()
    {
        var states = SlurmClient.ParseSqueue("123_0|RUNNING|node1|None\n123_1|PENDING||Resources\n999_0|RUNNING|x|None\n", "123").ToList();

        Assert.Equal(2, states.Count);
        Assert.Equal(new SchedulerTaskState(0, "RUNNING", "node1", "None", "squeue"), states[0]);
        Assert.Equal(new SchedulerTaskState(1, "PENDING", null, "Resources", "squeue"), states[1]);
        Assert.True(states[1].IsActive);
    }

    [Fact]
    public void Sacct_lines_keep_the_state_word_and_the_exit_code()
    {
        var states = SlurmClient.ParseSacct("123_2|TIMEOUT|0:15|node3\n123_3|CANCELLED by 0|0:0|None assigned\n123_2.batch|CANCELLED|0:15|node3\n", "123").ToList();

        Assert.Equal(2, states.Count);
        Assert.Equal(new SchedulerTaskState(2, "TIMEOUT", "node3", "exit 0:15", "sacct"), states[0]);
        Assert.Equal("CANCELLED", states[1].State);
        Assert.Null(states[1].Node);
        Assert.False(states[0].IsActive);
    }

    [Fact]
    public void Query_prefers_squeue_and_fills_in_from_sacct_with_argument_lists()
    {
        var runner = new FakeProcessRunner("squeue", "sacct")
        {
            Answer = (program, _) => program == "squeue"
                ? new ProcessResult(0, "55_0|RUNNING|a|None\n", "")
                : new ProcessResult(0, "55_0|COMPLETED|0:0|a\n55_1|TIMEOUT|0:15|b\n", ""),
        };

        var states = new SlurmClient(runner).Query("55");

        Assert.Equal(["RUNNING", "TIMEOUT"], states.Select(s => s.State));
        Assert.Equal(["--noheader", "--array", "--states=all", "--jobs=55", "--format=%i|%T|%N|%r"], runner.Calls[0].Args);
        Assert.Equal("sacct", runner.Calls[1].Program);
    }

    [Fact]
    public void Query_without_accounting_uses_squeue_alone()
    {
        var runner = new FakeProcessRunner("squeue", "sacct")
        {
            Answer = (program, _) => program == "squeue"
                ? new ProcessResult(0, "55_0|COMPLETED|a|None\n", "")
                : new ProcessResult(1, "", "Slurm accounting storage is disabled"),
        };

        Assert.Single(new SlurmClient(runner).Query("55"));
    }

    [Fact]
    public void An_unreachable_controller_is_said_in_one_sentence()
    {
        var runner = new FakeProcessRunner("squeue") { Answer = (_, _) => new ProcessResult(1, "", "slurm_load_jobs error: Unable to contact slurm controller (connect failure)\n") };

        var e = Assert.Throws<HarnessException>(() => new SlurmClient(runner).Query("55"));

        Assert.Equal("squeue could not describe job 55: slurm_load_jobs error: Unable to contact slurm controller (connect failure).", e.Message);
    }

    [Fact]
    public void A_job_squeue_forgot_is_no_error()
    {
        Assert.Empty(new SlurmClient(new FakeProcessRunner("squeue")).Query("55"));
    }

    [Fact]
    public void A_job_id_that_is_not_a_number_is_refused_before_anything_runs()
    {
        var runner = new FakeProcessRunner("squeue");

        var e = Assert.Throws<HarnessException>(() => new SlurmClient(runner).Query("55; rm -rf /"));

        Assert.Equal(ExitCodes.BadInput, e.ExitCode);
        Assert.Empty(runner.Calls);
    }

    [Fact]
    public void Submit_reads_the_job_id_of_a_parsable_answer()
    {
        var runner = new FakeProcessRunner("sbatch") { Answer = (_, _) => new ProcessResult(0, "4242;cluster-a\n", "") };

        Assert.Equal("4242", new SlurmClient(runner).Submit("/x/fleet.sbatch"));
        Assert.Equal(["--parsable", "/x/fleet.sbatch"], runner.Calls[0].Args);
    }

    [Fact]
    public void A_refused_submission_is_bad_input_with_slurms_first_line()
    {
        var runner = new FakeProcessRunner("sbatch") { Answer = (_, _) => new ProcessResult(1, "", "sbatch: error: invalid partition specified: nope\nsbatch: error: Batch job submission failed\n") };

        var e = Assert.Throws<HarnessException>(() => new SlurmClient(runner).Submit("/x/fleet.sbatch"));

        Assert.Equal("sbatch refused the job: sbatch: error: invalid partition specified: nope.", e.Message);
    }

    [Fact]
    public void Without_Slurm_the_answer_is_one_sentence()
    {
        var e = Assert.Throws<HarnessException>(() => new SlurmClient(new FakeProcessRunner()).Submit("/x/fleet.sbatch"));

        Assert.Equal(ExitCodes.BadInput, e.ExitCode);
        Assert.StartsWith("Slurm is not installed here: 'sbatch' was not found on PATH", e.Message, StringComparison.Ordinal);
    }
}
