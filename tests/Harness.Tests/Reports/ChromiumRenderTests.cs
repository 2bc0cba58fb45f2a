using System.Diagnostics;
using System.Text.RegularExpressions;
using Harness.Reports;
using Harness.Results;
using Harness.Testing;

namespace Harness.Tests.Reports;

/// <summary>Skips, with the reason, where no Chromium is installed; CI installs the Debian package.</summary>
public sealed class ChromiumFactAttribute : FactAttribute
{
    public ChromiumFactAttribute()
    {
        if (Chromium.Path is null)
        {
            Skip = "chromium is not installed (Debian package 'chromium'; sudo ./run.sh test installs it), so the report cannot be rendered here";
        }
    }
}

/// <summary>The HTML report rendered for real by headless Chromium: the DOM holds the charts and the screenshot is not blank.</summary>
public class ChromiumRenderTests
{
    [ChromiumFact]
    public void The_report_renders_with_every_chart_in_the_dom()
    {
        using var dir = new SyntheticResults.TempFolder();
        string page = WriteReport(dir.Path);

        string dom = Chromium.Run(dir.Path, "--dump-dom", new Uri(page).AbsoluteUri);

        var charts = Regex.Matches(dom, "<svg[^>]*data-chart=\"([^\"]+)\"").Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(HtmlReport.ChartIds, charts);
        Assert.True(Regex.Matches(dom, "<polyline").Count >= 10, "the charts should hold their lines");
        Assert.Contains("Harness report", dom, StringComparison.Ordinal);
    }

    [ChromiumFact]
    public void The_screenshot_is_not_blank()
    {
        using var dir = new SyntheticResults.TempFolder();
        string page = WriteReport(dir.Path);
        string png = Path.Combine(dir.Path, "shot.png");

        Chromium.Run(dir.Path, $"--screenshot={png}", "--window-size=1000,1400", "--hide-scrollbars", new Uri(page).AbsoluteUri);

        PngImage image = PngImage.Decode(File.ReadAllBytes(png));
        Assert.Equal((1000, 1400), (image.Width, image.Height));
        // Text, axes, grid and several coloured series: a blank or failed page has one or two colours.
        Assert.True(image.DistinctColors >= 32, $"{image.DistinctColors} distinct colours");
        Assert.True(image.NonBackgroundFraction > 0.03, $"{image.NonBackgroundFraction:P1} of the pixels differ from the background");
    }

    private static string WriteReport(string folder)
    {
        string path = Path.Combine(folder, "report.html");
        AtomicFile.WriteAllText(path, HtmlReport.Render(ReportInputs.ConcurrencySweep(telemetry: true, roofline: true)));
        return path;
    }
}

/// <summary>Finds and runs headless Chromium with the flags that keep it offline and quiet.</summary>
internal static class Chromium
{
    public static string? Path { get; } = Find();

    public static string Run(string folder, params string[] args)
    {
        string profile = System.IO.Path.Combine(folder, "profile");
        var psi = new ProcessStartInfo(Path!)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string flag in new[]
        {
            "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", $"--user-data-dir={profile}",
        })
        {
            psi.ArgumentList.Add(flag);
        }

        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using Process p = Process.Start(psi)!;
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromSeconds(120)))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"chromium did not finish in 120 s: {stderr.Result}");
        }

        Assert.True(p.ExitCode == 0, $"chromium exited with {p.ExitCode}: {stderr.Result}");
        return stdout.Result;
    }

    private static string? Find()
    {
        string[] names = ["chromium", "chromium-browser", "google-chrome"];
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(System.IO.Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            foreach (string name in names)
            {
                string candidate = System.IO.Path.Combine(dir, name);
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        return null;
    }
}
