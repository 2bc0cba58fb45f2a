using System.Text;
using Harness.Decoding;
using Harness.Tests.Fakes;
using Microsoft.AspNetCore.Http;

namespace Harness.OpenAI.Tests.Server;

/// <summary>What a transcript step does: write bytes, reset the connection, stall, or end the response.</summary>
public enum StepAction
{
    Write,
    Abort,
    Stall,
    End,
}

/// <summary>
/// One step of a recorded stream: at <see cref="AtMs"/> after the request was sent (on the test's
/// clock), write these bytes, which complete <see cref="Units"/> SSE units (events, comments, [DONE])
/// for the client.
/// </summary>
public sealed record Step(double AtMs, byte[] Bytes, int Units, StepAction Action = StepAction.Write)
{
    public static Step Data(double atMs, string json) => new(atMs, Encoding.UTF8.GetBytes($"data: {json}\n\n"), 1);

    public static Step Raw(double atMs, string text, int units) => new(atMs, Encoding.UTF8.GetBytes(text), units);

    public static Step Done(double atMs) => new(atMs, "data: [DONE]\n\n"u8.ToArray(), 1);

    public static Step Ping(double atMs) => new(atMs, ": ping\n\n"u8.ToArray(), 1);

    public static Step Abort(double atMs) => new(atMs, [], 0, StepAction.Abort);

    public static Step Stall(double atMs) => new(atMs, [], 0, StepAction.Stall);

    public static Step End(double atMs) => new(atMs, [], 0, StepAction.End);
}

/// <summary>
/// An exact SSE transcript in one server's shape, with what a right client must measure from it.
/// The server replays it on a controllable clock: before each step it moves the clock to the step's
/// time, writes the bytes, and waits until the client has taken in the units they complete, so
/// every timestamp the client takes is exactly the step's.
/// </summary>
public sealed record Transcript(string Name, IReadOnlyList<Step> Steps)
{
    public double? TtftMs { get; init; }

    public double? TtfoMs { get; init; }

    public int Events { get; init; }

    public int? UsageTokens { get; init; }

    /// <summary>Gaps between token-bearing events, ms.</summary>
    public double[] ItlEventMs { get; init; } = [];

    public string? Failure { get; init; }

    public override string ToString() => Name;

    /// <summary>SSE units the client has taken in: events with and without tokens, comments, [DONE].</summary>
    public static int Consumed(StreamRecord r) => r.EventCount + r.EmptyEvents + r.Comments + (r.Done ? 1 : 0);

    /// <summary>The server side: replays the steps against the client's progress on <paramref name="clock"/>.</summary>
    public Func<HttpContext, System.Text.Json.JsonElement, Task> Replay(FakeClock clock, Func<int> consumed) => async (ctx, _) =>
    {
        long start = clock.Timestamp;
        await OpenAiTestServer.BeginStream(ctx);
        int expected = 0;
        try
        {
            foreach (Step step in Steps)
            {
                long at = start + (long)(step.AtMs / 1000 * clock.Frequency);
                if (at > clock.Timestamp)
                {
                    clock.Advance(TimeSpan.FromSeconds((double)(at - clock.Timestamp) / clock.Frequency));
                }

                switch (step.Action)
                {
                    case StepAction.Abort:
                        ctx.Abort();
                        return;
                    case StepAction.Stall:
                        await Task.Delay(TimeSpan.FromSeconds(30), ctx.RequestAborted);
                        return;
                    case StepAction.End:
                        return;
                }

                await OpenAiTestServer.Write(ctx, step.Bytes);
                expected += step.Units;
                var until = DateTime.UtcNow.AddSeconds(10);
                while (consumed() < expected && DateTime.UtcNow < until && !ctx.RequestAborted.IsCancellationRequested)
                {
                    await Task.Delay(1);
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or InvalidOperationException)
        {
            // The client went away (after [DONE], a failure or its timeout).
        }
    };
}
