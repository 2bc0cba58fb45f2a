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
            Skip = Chromium.Missing;
        }
    }
}

/// <summary>A theory that skips, with the reason, where no Chromium is installed.</summary>
public sealed class ChromiumTheoryAttribute : TheoryAttribute
{
    public ChromiumTheoryAttribute()
    {
        if (Chromium.Path is null)
        {
            Skip = Chromium.Missing;
        }
    }
}

/// <summary>
/// Each view rendered for real by headless Chromium from the committed inputs: the browser's DOM
/// holds the charts and series the page was written with, every chart names its axes with units,
/// and a screenshot of the view is not blank.
/// </summary>
public class ChromiumRenderTests
{
    public static TheoryData<string> Views => new() { "latency", "llm", "efficiency", "energy-cost", "agents", "serving", "timelines", "compare", "merge", "plan" };

    [ChromiumTheory]
    [MemberData(nameof(Views))]
    public void Each_view_renders_its_charts_with_axes_and_is_not_blank(string view)
    {
        using var dir = new SyntheticResults.TempFolder();
        string html = Page(view);
        List<ChartInDom> written = ChartInDom.Parse(html);
        Assert.NotEmpty(written);

        (string dom, PngImage shot) = Chromium.Render(dir.Path, html);

        List<ChartInDom> rendered = ChartInDom.Parse(dom);
        Assert.Equal(written.Select(c => c.Id), rendered.Select(c => c.Id));
        for (int i = 0; i < written.Count; i++)
        {
            Assert.Equal(written[i].Series, rendered[i].Series);
            Assert.Equal(written[i].Rules, rendered[i].Rules);
            Assert.True(ChartInDom.HasUnit(rendered[i].XLabel), $"{view}/{rendered[i].Id}: x axis '{rendered[i].XLabel}' has no unit");
            Assert.True(rendered[i].YAxisKind == "category" ? rendered[i].YLabel.Length > 0 : ChartInDom.HasUnit(rendered[i].YLabel), $"{view}/{rendered[i].Id}: y axis '{rendered[i].YLabel}' has no unit");
            Assert.True(rendered[i].Series.Count > 0, $"{view}/{rendered[i].Id} has no series");
        }

        // Text, axes, grid and several coloured series: a blank or failed page has one or two colours.
        Assert.Equal((1100, 1400), (shot.Width, shot.Height));
        Assert.True(shot.DistinctColors >= 32, $"{view}: {shot.DistinctColors} distinct colours");
        Assert.True(shot.NonBackgroundFraction > 0.03, $"{view}: {shot.NonBackgroundFraction:P1} of the pixels differ from the background");
    }

    [ChromiumFact]
    public void The_report_groups_its_runs_in_the_browser()
    {
        using var dir = new SyntheticResults.TempFolder();
        ReportInput agents = ReportFixtures.AgentsSweep();
        var input = new ReportInput([.. ReportFixtures.H200Decoders(), .. ReportFixtures.RateSweep().Results, .. agents.Results], agents.Sweeps) { Offer = ReportFixtures.H200Offer() };
        string html = HtmlReport.Render(input);

        (string dom, PngImage shot) = Chromium.Render(dir.Path, html);

        // The script ran: one group row per workload (generate on two backends, agents), one tick box each.
        var workloads = input.Results.Select(r => r.Document.Workload).Distinct().ToList();
        Assert.Equal(workloads.Count, Regex.Matches(dom, "<tr class=\"group\">").Count);
        Assert.Equal(workloads.Count, Regex.Matches(dom, "<input type=\"checkbox\"").Count);
        Assert.Equal(ChartInDom.Parse(html).Select(c => c.Id), ChartInDom.Parse(dom).Select(c => c.Id));
        Assert.Equal(HtmlReport.ChartIds.Where(id => ChartInDom.Parse(html).Any(c => c.Id == id)), ChartInDom.Parse(dom).Select(c => c.Id).Distinct());
        Assert.True(shot.DistinctColors >= 32, $"{shot.DistinctColors} distinct colours");
    }

    /// <summary>One view's page, from the committed inputs.</summary>
    internal static string Page(string view)
    {
        var page = new HtmlPage(view);
        switch (view)
        {
            case "latency":
                LatencyViews.Add(page, new RunSet(ReportFixtures.RateSweep().Results));
                break;
            case "llm":
                LlmViews.Add(page, new RunSet(ReportFixtures.H200Decoders()));
                break;
            case "efficiency":
                LlmViews.AddEfficiency(page, new RunSet(ReportFixtures.H200Decoders()));
                break;
            case "energy-cost":
                EnergyCostViews.Add(page, new RunSet(ReportFixtures.H200Decoders()), ReportFixtures.H200Offer());
                break;
            case "agents":
                ReportInput agents = ReportFixtures.AgentsSweep();
                AgentViews.Add(page, new RunSet(agents.Results), agents.Sweeps);
                break;
            case "serving":
                TimelineViews.AddServing(page, new RunSet([ReportFixtures.Served()]));
                break;
            case "timelines":
                TimelineViews.AddTimelines(page, new RunSet([.. ReportFixtures.H200Decoders(), .. ReportFixtures.RateSweep().Results.Take(1)]));
                break;
            case "compare":
                return GateView.Render(ReportFixtures.Compare());
            case "merge":
                return FleetView.Render(ReportFixtures.Fleet());
            case "plan":
                return PlanView.Render(ReportFixtures.Plan());
            default:
                throw new ArgumentException($"no view {view}", nameof(view));
        }

        return page.Render(view);
    }
}

/// <summary>Finds and runs headless Chromium with the flags that keep it offline and quiet.</summary>
internal static class Chromium
{
    public const string Missing = "chromium is not installed (Debian package 'chromium'; sudo ./run.sh test installs it), so the report cannot be rendered here";

    public static string? Path { get; } = Find();

    /// <summary>Loads the page once and returns its DOM after scripts ran and a 1100 x 1400 screenshot of its top.</summary>
    public static (string Dom, PngImage Shot) Render(string folder, string html)
    {
        string page = System.IO.Path.Combine(folder, "page.html");
        string png = System.IO.Path.Combine(folder, "shot.png");
        AtomicFile.WriteAllText(page, html);
        string dom = Run(folder, "--dump-dom", $"--screenshot={png}", "--window-size=1100,1400", "--hide-scrollbars", new Uri(page).AbsoluteUri);
        return (dom, PngImage.Decode(File.ReadAllBytes(png)));
    }

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
