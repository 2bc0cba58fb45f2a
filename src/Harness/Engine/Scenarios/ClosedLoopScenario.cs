namespace Harness.Engine.Scenarios;

/// <summary>
/// N workers, each issuing its next request as soon as its previous one ends (a closed loop).
/// <c>single</c> is N = 1; <c>offline</c> is N = 1 with batches back to back, reported for throughput;
/// <c>concurrency:N</c> keeps N in flight.
/// </summary>
public sealed class ClosedLoopScenario : IScenario
{
    private ClosedLoopScenario(string name, int workers, double? targetTail)
    {
        Name = name;
        Workers = workers;
        TargetTail = targetTail;
    }

    public static ClosedLoopScenario Single { get; } = new("single", 1, 0.90);

    public static ClosedLoopScenario Offline { get; } = new("offline", 1, null);

    public static ClosedLoopScenario Concurrency(int n) =>
        n >= 1 ? new($"concurrency:{n}", n, 0.99) : throw new ArgumentOutOfRangeException(nameof(n), n, "concurrency must be at least 1");

    public string Name { get; }

    public int Workers { get; }

    public double? TargetTail { get; }

    public void Run(IPhaseDriver driver)
    {
        if (Workers == 1)
        {
            Loop(driver, 0);
            return;
        }

        // Dedicated threads, not the pool: a blocked pool thread would skew the closed loop.
        var threads = new Thread[Workers];
        for (int w = 0; w < Workers; w++)
        {
            int worker = w;
            threads[w] = new Thread(() => Loop(driver, worker)) { IsBackground = true, Name = $"harness-worker-{w}" };
            threads[w].Start();
        }

        foreach (Thread t in threads)
        {
            t.Join();
        }
    }

    private static void Loop(IPhaseDriver driver, int worker)
    {
        while (driver.TryBeginRequest())
        {
            driver.Execute(worker, driver.Now);
        }
    }
}
