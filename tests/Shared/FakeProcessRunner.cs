using Harness.Fleet;

namespace Harness.Testing;

/// <summary>Answers in place of Slurm's commands; records every call with its argument list.</summary>
internal sealed class FakeProcessRunner : IProcessRunner
{
    private readonly HashSet<string> _installed;

    public FakeProcessRunner(params string[] installed) => _installed = [.. installed];

    /// <summary>Program name and arguments to the answer; unanswered calls fail like a missing job.</summary>
    public Func<string, IReadOnlyList<string>, ProcessResult> Answer { get; set; } = (_, _) => new ProcessResult(1, "", "slurm_load_jobs error: Invalid job id specified");

    public List<(string Program, IReadOnlyList<string> Args)> Calls { get; } = [];

    public string? Locate(string program) => _installed.Contains(program) ? $"/usr/bin/{program}" : null;

    public ProcessResult Run(string program, IReadOnlyList<string> arguments, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        string name = Path.GetFileName(program);
        Calls.Add((name, arguments.ToList()));
        return Answer(name, arguments);
    }
}
