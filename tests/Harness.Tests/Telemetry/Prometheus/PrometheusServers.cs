using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Harness.Tests.Fakes;

namespace Harness.Tests.Telemetry.Prometheus;

/// <summary>
/// A real Prometheus (scraping a harness endpoint and a Pushgateway every second) and a real
/// Pushgateway, on free 127.0.0.1 ports with data in a temporary folder; stopped and removed on dispose.
/// </summary>
public sealed class PrometheusServers : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("harness-prometheus-").FullName;
    private readonly List<Process> _processes = [];
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };

    public PrometheusServers()
    {
        try
        {
            HarnessPort = FreePort.Get();
            PushgatewayPort = FreePort.Get();
            PrometheusPort = FreePort.Get();
            File.WriteAllText(Path.Combine(_dir, "prometheus.yml"), $"""
                global:
                  scrape_interval: 1s
                  scrape_timeout: 900ms
                  evaluation_interval: 1s
                scrape_configs:
                  - job_name: harness
                    static_configs:
                      - targets: ['127.0.0.1:{HarnessPort}']
                  - job_name: pushgateway
                    honor_labels: true
                    static_configs:
                      - targets: ['127.0.0.1:{PushgatewayPort}']
                """);
            Start("prometheus-pushgateway", $"--web.listen-address=127.0.0.1:{PushgatewayPort} --persistence.file={Path.Combine(_dir, "pushgateway.data")}");
            Start("prometheus", $"--config.file={Path.Combine(_dir, "prometheus.yml")} --storage.tsdb.path={Path.Combine(_dir, "data")} --web.listen-address=127.0.0.1:{PrometheusPort}");
            WaitReady(PushgatewayUrl);
            WaitReady(PrometheusUrl);
            WaitForTargets(2);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Where Prometheus expects the harness's /metrics.</summary>
    public int HarnessPort { get; }

    public int PushgatewayPort { get; }

    public int PrometheusPort { get; }

    public string PushgatewayUrl => $"http://127.0.0.1:{PushgatewayPort}";

    public string PrometheusUrl => $"http://127.0.0.1:{PrometheusPort}";

    /// <summary>
    /// Instant query, at <paramref name="at"/> or now; the samples' label sets and values. A target
    /// that has gone away is marked stale at its next failed scrape, so a check of what it exposed
    /// asks at a moment it was still up, not whenever a loaded machine gets to the query.
    /// </summary>
    public IReadOnlyList<(Dictionary<string, string> Labels, double Value)> Query(string promql, DateTimeOffset? at = null)
    {
        string time = at is { } t ? "&time=" + (t.ToUnixTimeMilliseconds() / 1000.0).ToString("0.###", CultureInfo.InvariantCulture) : "";
        string json = _http.GetStringAsync($"{PrometheusUrl}/api/v1/query?query={Uri.EscapeDataString(promql)}{time}").GetAwaiter().GetResult();
        using JsonDocument doc = JsonDocument.Parse(json);
        return doc.RootElement.GetProperty("data").GetProperty("result").EnumerateArray()
            .Select(r => (
                r.GetProperty("metric").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!),
                double.Parse(r.GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture)))
            .ToList();
    }

    /// <summary>Evaluates a query; null when Prometheus accepted it, else its error.</summary>
    public string? QueryError(string promql)
    {
        HttpResponseMessage response = _http.GetAsync($"{PrometheusUrl}/api/v1/query?query={Uri.EscapeDataString(promql)}").GetAwaiter().GetResult();
        using JsonDocument doc = JsonDocument.Parse(response.Content.ReadAsStringAsync().GetAwaiter().GetResult());
        return doc.RootElement.GetProperty("status").GetString() == "success" ? null : doc.RootElement.GetProperty("error").GetString();
    }

    /// <summary>Queries until <paramref name="accept"/> holds for the single result (Prometheus ingests scrapes asynchronously).</summary>
    public double QueryUntil(string promql, Func<double, bool> accept, TimeSpan timeout, DateTimeOffset? at = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        double? last = null;
        while (true)
        {
            var result = Query(promql, at);
            if (result.Count == 1)
            {
                last = result[0].Value;
                if (accept(last.Value))
                {
                    return last.Value;
                }
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"'{promql}' gave {(last is null ? $"{result.Count} series" : last.ToString())} after {timeout.TotalSeconds} s; log:\n{Log()}");
            }

            Thread.Sleep(250);
        }
    }

    public string PushgatewayMetrics() => _http.GetStringAsync($"{PushgatewayUrl}/metrics").GetAwaiter().GetResult();

    public string Log() => string.Join("\n", Directory.EnumerateFiles(_dir, "*.log").Select(f => $"--- {Path.GetFileName(f)}\n{Tail(f)}"));

    public void Dispose()
    {
        foreach (Process p in _processes)
        {
            try
            {
                if (!p.HasExited)
                {
                    p.Kill(entireProcessTree: true);
                    p.WaitForExit(10_000);
                }
            }
            catch (InvalidOperationException)
            {
            }

            p.Dispose();
        }

        _http.Dispose();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private void Start(string binary, string arguments)
    {
        var info = new ProcessStartInfo(binary, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = _dir,
        };
        var process = Process.Start(info) ?? throw new InvalidOperationException($"{binary} did not start");
        _processes.Add(process);
        var log = new StreamWriter(Path.Combine(_dir, binary + ".log")) { AutoFlush = true };
        process.OutputDataReceived += (_, e) => Write(log, e.Data);
        process.ErrorDataReceived += (_, e) => Write(log, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    private static void Write(StreamWriter log, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (log)
        {
            log.WriteLine(line);
        }
    }

    private void WaitReady(string url)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            try
            {
                if (_http.GetAsync($"{url}/-/ready").GetAwaiter().GetResult().IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            if (DateTime.UtcNow > deadline || _processes.Any(p => p.HasExited))
            {
                throw new InvalidOperationException($"{url} did not become ready; log:\n{Log()}");
            }

            Thread.Sleep(200);
        }
    }

    /// <summary>Prometheus hands new targets to its scrapers only every 5 s: wait until both are scraped.</summary>
    private void WaitForTargets(int count)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            string json = _http.GetStringAsync($"{PrometheusUrl}/api/v1/targets").GetAwaiter().GetResult();
            using JsonDocument doc = JsonDocument.Parse(json);
            int scraped = doc.RootElement.GetProperty("data").GetProperty("activeTargets").EnumerateArray()
                .Count(t => t.GetProperty("lastScrape").GetString() is { } last && !last.StartsWith("0001", StringComparison.Ordinal));
            if (scraped >= count)
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException($"Prometheus did not scrape its {count} targets; log:\n{Log()}");
            }

            Thread.Sleep(200);
        }
    }

    private static string Tail(string path)
    {
        try
        {
            using var s = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var r = new StreamReader(s);
            string text = r.ReadToEnd();
            return text.Length > 3000 ? text[^3000..] : text;
        }
        catch (IOException)
        {
            return "";
        }
    }
}
