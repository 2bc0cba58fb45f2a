using System.Text.Json;
using Harness.Agents.Reporting;
using Harness.Fleet;
using Harness.Results;
using Harness.Running;
using Harness.Testing;

namespace Harness.Tests.Results;

public class HarnessDocumentTests
{
    [Fact]
    public void A_good_file_of_each_kind_reads_typed_through_its_own_reader()
    {
        using var dir = new SyntheticResults.TempFolder();
        string result = SyntheticResults.Write(dir.Path, "r.json", SyntheticResults.Make([1, 2, 3]));
        var points = new SweepIndex { Kind = "rate", Workload = "gemm", Points = [new SweepIndexEntry { Label = "rate-2" }] };
        string index = Write(dir.Path, ResultReader.SweepIndexFileName, points);
        var curve = new AgentSweepDocument { Profile = "coding-agent", CoresPerGpuFor90pctBusy = 12 };
        string sweep = Write(dir.Path, ResultReader.AgentSweepFileName, curve);
        var layout = new FleetLayout(dir.Path);
        new FleetManifest { JobId = "31", Tasks = 2, Nodes = 2 }.Write(layout.ManifestPath);
        Directory.CreateDirectory(Path.GetDirectoryName(layout.StatusPath(0))!);
        File.WriteAllText(layout.StatusPath(0), """{"schema_version": 1, "task": 0, "tasks": 2, "exit_code": 3, "node": "n0"}""");
        File.WriteAllText(layout.StatusPath(1), """{"task": 1, "tasks": 2, "exit_code": 0, "node": "n1"}""");

        Assert.Equal(3, HarnessDocument.Read<ResultDocument>(result, DocumentKind.Result).Metrics.LatencyMs!.Count);
        Assert.Equal("rate-2", SweepIndex.Read(dir.Path).Points.Single().Label);
        Assert.Equal(12, AgentSweepJson.Read(dir.Path).CoresPerGpuFor90pctBusy);
        Assert.Equal("coding-agent", HarnessDocument.Read<AgentSweepDocument>(sweep, DocumentKind.AgentsSweep).Profile);
        Assert.Equal("31", FleetManifest.TryRead(layout)!.JobId);
        Assert.Equal(3, TaskExitRecord.TryRead(layout.StatusPath(0), out string? problem)!.ExitCode);
        Assert.Null(problem);

        // A record of a script written before the schema version was recorded reads as version 1.
        Assert.Equal("n1", TaskExitRecord.TryRead(layout.StatusPath(1), out problem)!.Node);
        Assert.Null(problem);
        Assert.Equal(
            [DocumentKind.Result, DocumentKind.SweepIndex, DocumentKind.AgentsSweep, DocumentKind.FleetManifest, DocumentKind.TaskExit],
            new[] { result, index, sweep, layout.ManifestPath, layout.StatusPath(0) }.Select(p => HarnessDocument.KindOf(p)));
    }

    [Fact]
    public void A_document_of_another_kind_is_refused_by_what_it_is()
    {
        using var dir = new SyntheticResults.TempFolder();
        string result = SyntheticResults.Write(dir.Path, "r.json", SyntheticResults.Make([1, 2]));
        string index = Write(dir.Path, ResultReader.SweepIndexFileName, new SweepIndex { Kind = "rate", Workload = "gemm" });

        var e = Assert.Throws<HarnessException>(() => HarnessDocument.Read<SweepIndex>(result, DocumentKind.SweepIndex));
        Assert.Equal(ExitCodes.BadInput, e.ExitCode);
        Assert.Equal($"Sweep index '{result}' is a run result document, not a sweep index.", e.Message);

        e = Assert.Throws<HarnessException>(() => ResultReader.Read(index));
        Assert.Equal($"Result file '{index}' is a sweep index document, not a run result.", e.Message);

        e = Assert.Throws<HarnessException>(() => HarnessDocument.Read<FleetManifest>(index, DocumentKind.FleetManifest));
        Assert.Equal($"Fleet manifest '{index}' is a sweep index document, not a fleet manifest.", e.Message);

        Assert.Null(TaskExitRecord.TryRead(result, out string? problem));
        Assert.Equal("its exit record r.json is unreadable (is a run result document, not a task exit record)", problem);
    }

    [Fact]
    public void A_newer_schema_version_is_refused_in_one_sentence_for_every_kind()
    {
        using var dir = new SyntheticResults.TempFolder();
        var layout = new FleetLayout(dir.Path);
        new FleetManifest { JobId = "31", SchemaVersion = 2 }.Write(layout.ManifestPath);
        string index = Write(dir.Path, ResultReader.SweepIndexFileName, new SweepIndex { Kind = "rate", SchemaVersion = 3 });
        string record = Path.Combine(dir.Path, "task-0.json");
        File.WriteAllText(record, """{"schema_version": 2, "task": 0, "exit_code": 0}""");

        var e = Assert.Throws<HarnessException>(() => FleetManifest.TryRead(layout));
        Assert.Equal(ExitCodes.BadInput, e.ExitCode);
        Assert.Equal(
            $"Fleet manifest '{layout.ManifestPath}' has schema version 2, newer than this harness reads (up to 1); "
            + "read it with the harness that wrote it (version unknown) or a newer one.",
            e.Message);

        e = Assert.Throws<HarnessException>(() => SweepIndex.Read(dir.Path));
        Assert.StartsWith(
            $"Sweep index '{index}' has schema version 3, newer than this harness reads (up to 1)", e.Message, StringComparison.Ordinal);

        Assert.Null(TaskExitRecord.TryRead(record, out string? problem));
        Assert.StartsWith("its exit record task-0.json is unreadable (has schema version 2, newer", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_or_broken_file_is_named_with_its_role()
    {
        using var dir = new SyntheticResults.TempFolder();
        string missing = Path.Combine(dir.Path, "none.json");
        string broken = Path.Combine(dir.Path, "fleet.json");
        File.WriteAllText(broken, """{"schema_version": 1, "job_id": """);

        var e = Assert.Throws<HarnessException>(() => HarnessDocument.Read<SweepIndex>(missing, DocumentKind.SweepIndex));
        Assert.Equal(ExitCodes.BadInput, e.ExitCode);
        Assert.Equal($"Sweep index '{missing}' does not exist.", e.Message);

        e = Assert.Throws<HarnessException>(() => HarnessDocument.Read<FleetManifest>(broken, DocumentKind.FleetManifest));
        Assert.Matches(@"^Fleet manifest '.*fleet\.json' is not valid JSON at line 1, byte \d+ \(truncated or corrupt\)\.$", e.Message);

        Assert.Null(TaskExitRecord.TryRead(missing, out string? problem));
        Assert.Null(problem);
        e = Assert.Throws<HarnessException>(() => SweepIndex.Read(dir.Path));
        Assert.Equal(
            $"'{dir.Path}' has no {ResultReader.SweepIndexFileName}; it is not the folder of a sweep, repeat or A/B job.", e.Message);
    }

    [Fact]
    public void The_task_script_writes_the_schema_version_the_reader_checks()
    {
        string script = TaskScript.Body(TaskEnvironment.Slurm, "/results");
        Assert.Contains("printf '{\"schema_version\": 1, \"task\": %s,", script, StringComparison.Ordinal);
    }

    private static string Write(string folder, string name, object document)
    {
        string path = Path.Combine(folder, name);
        File.WriteAllText(path, JsonSerializer.Serialize(document, document.GetType(), ResultJson.Options));
        return path;
    }
}
