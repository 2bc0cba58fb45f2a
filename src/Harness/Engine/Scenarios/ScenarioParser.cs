using System.Globalization;

namespace Harness.Engine.Scenarios;

/// <summary>Turns the <c>--scenario</c> text into a scenario; the one place that knows their names.</summary>
public static class ScenarioParser
{
    public const string Help = "single | offline | concurrency:N";

    public static IScenario Parse(string text)
    {
        string s = text.Trim().ToLowerInvariant();
        if (s == "single")
        {
            return ClosedLoopScenario.Single;
        }

        if (s == "offline")
        {
            return ClosedLoopScenario.Offline;
        }

        if (s.StartsWith("concurrency:", StringComparison.Ordinal))
        {
            string n = s["concurrency:".Length..];
            if (int.TryParse(n, NumberStyles.None, CultureInfo.InvariantCulture, out int c) && c is >= 1 and <= 4096)
            {
                return ClosedLoopScenario.Concurrency(c);
            }

            throw HarnessException.BadInput($"Scenario '{text}' needs a concurrency from 1 to 4096, e.g. concurrency:4.");
        }

        throw HarnessException.BadInput($"Unknown scenario '{text}'; expected {Help}.");
    }
}
