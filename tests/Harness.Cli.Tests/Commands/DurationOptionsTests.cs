using System.CommandLine;
using Harness.Cli.Commands;
using Harness.Engine;
using Harness.Measurement;
using Harness.Running;

namespace Harness.Cli.Tests.Commands;

/// <summary>
/// Every duration option is parsed by the command line, with the one grammar (<see cref="Durations"/>):
/// a bad value exits 2 with its one sentence before anything runs, a good one reaches the command as a
/// <see cref="TimeSpan"/>, and help shows each default as written.
/// </summary>
public class DurationOptionsTests : IDisposable
{
    private const string Forms = "use e.g. 30s, 500ms, 2m or 1h.";

    private readonly string _dir = Directory.CreateTempSubdirectory("harness-cli-durations-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Each command that takes durations: what else it needs to parse, and its duration options with their defaults.</summary>
    private static readonly (string Command, string[] Needs, (string Option, string? Default)[] Options)[] Commands =
    [
        ("run", ["resnet18", "--results-dir", "DIR"], [
            ("--duration", "30s"), ("--max-duration", "10m"), ("--warmup", "5s"), ("--timeout", null),
            ("--telemetry-interval", "100ms"), ("--metrics-linger", "0s")]),
        ("run agents", ["--profile", "rag", "--results-dir", "DIR"], [
            ("--duration", "30s"), ("--llm-batch-window", "2ms"), ("--warmup", "5s"),
            ("--telemetry-interval", "100ms"), ("--metrics-linger", "0s")]),
        ("agents sweep", ["--profile", "rag", "--results-dir", "DIR"], [
            ("--duration", "20s"), ("--llm-batch-window", "2ms"), ("--warmup", "5s"),
            ("--telemetry-interval", "100ms"), ("--metrics-linger", "0s")]),
        ("serve", [], [("--batch-window", "0s"), ("--shutdown-timeout", "30s")]),
        ("ab", ["--a", "resnet18", "--b", "resnet18"], [("--window", "1s")]),
        ("slurm collect", ["DIR"], [("--timeout", "30m"), ("--poll", "10s")]),
    ];

    public static TheoryData<string, string> Options()
    {
        var data = new TheoryData<string, string>();
        foreach (var (command, _, options) in Commands)
        {
            foreach (var (option, _) in options)
            {
                data.Add(command, option);
            }
        }

        return data;
    }

    private string[] Args(string command, string option, string value)
    {
        var c = Commands.Single(c => c.Command == command);
        return [.. command.Split(' '), .. c.Needs.Select(a => a == "DIR" ? _dir : a), option, value];
    }

    [Theory]
    [MemberData(nameof(Options))]
    public void A_bad_duration_exits_2_with_the_one_sentence_before_anything_runs(string command, string option)
    {
        (int code, string output, string err) = CliRunner.Run(Args(command, option, "3 parsecs"));

        Assert.Equal(ExitCodes.BadInput, code);
        string expected = $"harness: {option} '3 parsecs' is not a duration; {Forms} (see 'harness --help').";
        Assert.Equal(expected, Assert.Single(CliRunner.Messages(err)));
        Assert.Empty(output);
        Assert.Empty(Directory.GetFileSystemEntries(_dir));
    }

    [Theory]
    [MemberData(nameof(Options))]
    public void A_good_duration_reaches_the_command_as_a_time_span(string command, string option)
    {
        RootCommand root = HarnessCli.BuildRoot(TextWriter.Null, TextWriter.Null);

        ParseResult parse = root.Parse(Args(command, option, "1.5m"));

        Assert.Empty(parse.Errors);
        Option declared = parse.CommandResult.Command.Options.Single(o => o.Name == option);
        TimeSpan? value = declared switch
        {
            Option<TimeSpan> d => parse.GetValue(d),
            Option<TimeSpan?> d => parse.GetValue(d),
            _ => throw new InvalidOperationException($"{command} {option} is a {declared.ValueType.Name} option, not a duration."),
        };
        Assert.Equal(TimeSpan.FromSeconds(90), value);
    }

    [Fact]
    public void The_cases_are_every_duration_option_and_no_text_option_holds_a_duration()
    {
        RootCommand root = HarnessCli.BuildRoot(TextWriter.Null, TextWriter.Null);
        var durations = new List<string>();
        var texts = new List<string>();
        void Walk(Command command, string path)
        {
            foreach (Option o in command.Options)
            {
                if (o.ValueType == typeof(TimeSpan) || o.ValueType == typeof(TimeSpan?))
                {
                    durations.Add($"{path} {o.Name}");
                }
                else if (o.ValueType == typeof(string) && o.HasDefaultValue && o.GetDefaultValue() is string s
                    && Durations.TryParse(s) is not null)
                {
                    texts.Add($"{path} {o.Name} (default '{s}')");
                }
            }

            foreach (Command sub in command.Subcommands)
            {
                Walk(sub, path.Length == 0 ? sub.Name : $"{path} {sub.Name}");
            }
        }

        Walk(root, "");

        Assert.Equal(
            Commands.SelectMany(c => c.Options.Select(o => $"{c.Command} {o.Option}")).Order(StringComparer.Ordinal),
            durations.Order(StringComparer.Ordinal));
        Assert.Empty(texts);
    }

    [Theory]
    [InlineData("run")]
    [InlineData("run agents")]
    [InlineData("agents sweep")]
    [InlineData("serve")]
    [InlineData("ab")]
    [InlineData("slurm collect")]
    public void Help_shows_each_default_as_written(string command)
    {
        (int code, string output, _) = CliRunner.Run([.. command.Split(' '), "--help"]);

        Assert.Equal(ExitCodes.Ok, code);
        string[] lines = output.Split('\n', StringSplitOptions.TrimEntries);
        foreach (var (option, text) in Commands.Single(c => c.Command == command).Options)
        {
            string usage = $"{option} <";
            string line = Assert.Single(
                lines, l => l.StartsWith(usage, StringComparison.Ordinal) || l.Contains(" " + usage, StringComparison.Ordinal));
            if (text is null)
            {
                Assert.DoesNotContain("[default:", line, StringComparison.Ordinal);
            }
            else
            {
                Assert.EndsWith($"[default: {text}]", line, StringComparison.Ordinal);
            }
        }

        Assert.DoesNotContain("[default: 00:", output, StringComparison.Ordinal);
    }

    [Fact]
    public void A_run_request_holds_the_given_durations_and_else_the_defaults()
    {
        RunRequest given = RunOptions.ParseArguments(
            "run minilm --duration 1.5m --max-duration 3m --warmup 250ms --timeout 2s --telemetry-interval 50ms --metrics-linger 15s",
            "run");
        RunRequest left = RunOptions.ParseArguments("run minilm", "run");

        Assert.Equal(new StopRules(TimeSpan.FromSeconds(90), 100, TimeSpan.FromMinutes(3), UntilTail: true), given.Settings.Stop);
        Assert.Equal(WarmupRule.ForDuration(TimeSpan.FromMilliseconds(250)), given.Settings.Warmup);
        Assert.Equal(TimeSpan.FromSeconds(2), given.Settings.RequestTimeout);
        Assert.Equal(TimeSpan.FromMilliseconds(50), given.Telemetry!.Interval);
        Assert.Equal(TimeSpan.FromSeconds(15), given.Metrics!.Linger);

        Assert.Equal(new StopRules(TimeSpan.FromSeconds(30), 100, TimeSpan.FromMinutes(10), UntilTail: true), left.Settings.Stop);
        Assert.Equal(WarmupRule.ForDuration(TimeSpan.FromSeconds(5)), left.Settings.Warmup);
        Assert.Null(left.Settings.RequestTimeout);
        Assert.Equal(TimeSpan.FromMilliseconds(100), left.Telemetry!.Interval);
        Assert.Equal(TimeSpan.Zero, left.Metrics!.Linger);
    }

    [Fact]
    public void Longer_than_a_week_is_its_own_sentence()
    {
        (int code, _, string err) = CliRunner.Run("run", "resnet18", "--timeout", "200h", "--results-dir", _dir);

        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Equal("harness: --timeout '200h' is longer than a week. (see 'harness --help').", Assert.Single(CliRunner.Messages(err)));
    }

    [Theory]
    [InlineData("ab", "--a", "resnet18 --duration 3x", "--b", "resnet18")]
    [InlineData("slurm", "submit", "--nodes", "2", "--dry-run", "--", "resnet18", "--duration", "3x")]
    [InlineData("k8s", "manifest", "--results-volume", "c", "--", "resnet18", "--duration", "3x")]
    public void A_bad_duration_in_run_arguments_is_bad_input_where_they_are_given(params string[] args)
    {
        (int code, string output, string err) = CliRunner.Run(args);

        Assert.Equal(ExitCodes.BadInput, code);
        Assert.EndsWith($"--duration '3x' is not a duration; {Forms}", Assert.Single(CliRunner.Messages(err)), StringComparison.Ordinal);
        Assert.Empty(output);
    }
}
