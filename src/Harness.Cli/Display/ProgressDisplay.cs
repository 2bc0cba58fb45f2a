using System.Globalization;
using Harness.Engine;
using Harness.Measurement;
using Spectre.Console;

namespace Harness.Cli.Display;

/// <summary>
/// Shows the engine's progress on stderr while work runs: a live Spectre.Console status line on a
/// terminal; when stderr is redirected (CI logs, pipes), a plain line as the warm-up and the
/// measurement begin and every few seconds within a phase, so a log (or a script waiting for the
/// measurement) sees where the run is. Preparing has no line of its own: bad input found while
/// preparing stays the one sentence on stderr. What the tail rule will take at a closed loop's
/// warm-up rate (<see cref="EngineProgress.Forecast"/>) is printed once, as a line of its own.
/// </summary>
public static class ProgressDisplay
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(250);
    private static readonly long LineEvery = StopwatchClock.Instance.FromTimeSpan(TimeSpan.FromSeconds(5));

    public static T Run<T>(EngineProgress progress, string title, TextWriter error, Func<T> work)
    {
        bool interactive = ReferenceEquals(error, Console.Error) && !Console.IsErrorRedirected && Environment.GetEnvironmentVariable("CI") is null;
        if (!interactive)
        {
            string? phase = null;
            long lastLine = StopwatchClock.Instance.Timestamp;
            bool stopped = false, told = false;
            var gate = new object();
            void Tick(object? _)
            {
                lock (gate)
                {
                    long now = StopwatchClock.Instance.Timestamp;
                    if (!stopped && !told && progress.Forecast is { } forecast)
                    {
                        told = true;
                        error.WriteLine($"[{title}] {forecast}");
                    }

                    bool began = progress.Phase != phase && progress.Phase is not (RunPhases.Preparing or RunPhases.Done);
                    if (!stopped && (began || (progress.Phase != RunPhases.Done && now - lastLine >= LineEvery)))
                    {
                        (phase, lastLine) = (progress.Phase, now);
                        error.WriteLine($"[{title}] {Describe(progress)}");
                    }
                }
            }

            using var timer = new Timer(Tick, null, Poll, Poll);
            try
            {
                return work();
            }
            finally
            {
                // Disposing a timer does not wait for a callback under way: one could still be writing
                // when the caller writes its own lines to the same writer (not thread-safe in tests).
                lock (gate)
                {
                    stopped = true;
                }
            }
        }

        IAnsiConsole console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        T result = default!;
        console.Status().Spinner(Spinner.Known.Dots).Start($"{title}: starting", ctx =>
        {
            Task<T> task = Task.Factory.StartNew(work, TaskCreationOptions.LongRunning);
            bool told = false;
            while (!task.Wait(250))
            {
                if (!told && progress.Forecast is { } forecast)
                {
                    told = true;
                    console.MarkupLine(Markup.Escape($"{title}: {forecast}"));
                }

                ctx.Status($"{Markup.Escape(title)}: {Markup.Escape(Describe(progress))}");
            }

            result = task.GetAwaiter().GetResult();
        });
        return result;
    }

    internal static string Describe(EngineProgress p, IClock? clock = null)
    {
        clock ??= StopwatchClock.Instance;
        long now = clock.Timestamp;
        double seconds = (double)(now - p.PhaseStart) / clock.Frequency;
        string line = string.Create(CultureInfo.InvariantCulture, $"{p.Phase} {seconds:0.0} s, {p.Completed} requests");
        return p.TailWait(now, clock.Frequency) is { } wait ? $"{line}; {wait}" : line;
    }
}
