using System.Globalization;
using Harness.Engine;
using Spectre.Console;

namespace Harness.Cli.Display;

/// <summary>
/// Shows the engine's progress on stderr while work runs: a live Spectre.Console status line on a
/// terminal, plain lines every few seconds when stderr is redirected (CI logs, pipes).
/// </summary>
public static class ProgressDisplay
{
    public static T Run<T>(EngineProgress progress, string title, TextWriter error, Func<T> work)
    {
        bool interactive = ReferenceEquals(error, Console.Error) && !Console.IsErrorRedirected && Environment.GetEnvironmentVariable("CI") is null;
        if (!interactive)
        {
            using var timer = new Timer(_ => error.WriteLine($"[{title}] {Describe(progress)}"), null, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5));
            return work();
        }

        IAnsiConsole console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        T result = default!;
        console.Status().Spinner(Spinner.Known.Dots).Start($"{title}: starting", ctx =>
        {
            Task<T> task = Task.Factory.StartNew(work, TaskCreationOptions.LongRunning);
            while (!task.Wait(250))
            {
                ctx.Status($"{Markup.Escape(title)}: {Markup.Escape(Describe(progress))}");
            }

            result = task.GetAwaiter().GetResult();
        });
        return result;
    }

    private static string Describe(EngineProgress p)
    {
        double seconds = (double)(StopwatchClock.Instance.Timestamp - p.PhaseStart) / StopwatchClock.Instance.Frequency;
        return string.Create(CultureInfo.InvariantCulture, $"{p.Phase} {seconds:0.0} s, {p.Completed} requests");
    }
}
