using System.Net;
using Harness.Measurement;

namespace Harness.ServerMetrics;

/// <summary>
/// Scrapes a serving stack's Prometheus endpoint during the measured window: once when the window
/// opens, then every interval on a thread of its own, and once more when it closes. Keeps the known
/// series of every scrape (<see cref="KnownServerMetrics"/>) and the first and last scrape whole (the
/// raw families of a server it does not know). A scrape that fails is counted with its reason and
/// the run goes on: the server's metrics never stop a measurement.
/// </summary>
public sealed class ServerMetricsScraper : IRunObserver, IDisposable
{
    private readonly HttpClient _http;
    private readonly IClock _clock;
    private readonly object _gate = new();
    private readonly List<Scrape> _scrapes = [];
    private Thread? _thread;
    private volatile bool _stop;
    private readonly AutoResetEvent _wake = new(false);
    private long _windowStart;

    public ServerMetricsScraper(Uri url, IClock clock, TimeSpan interval, HttpMessageHandler? handler = null)
    {
        Url = url;
        _clock = clock;
        Interval = interval;
        _http = new HttpClient(handler ?? new SocketsHttpHandler { UseProxy = false, AutomaticDecompression = DecompressionMethods.None }, disposeHandler: true)
        {
            Timeout = TimeSpan.FromSeconds(Math.Max(1, Math.Min(5, interval.TotalSeconds * 2))),
        };
    }

    public Uri Url { get; }

    public TimeSpan Interval { get; }

    public int Failures { get; private set; }

    public string? LastError { get; private set; }

    /// <summary>Families of the last scrape that succeeded (for tests and the raw listing).</summary>
    public IReadOnlyList<MetricFamily>? LastFamilies { get; private set; }

    private IReadOnlyList<MetricFamily>? FirstFamilies { get; set; }

    /// <summary>One scrape now, outside the window (is the endpoint there at all?): null when it answered, else why not.</summary>
    public string? Probe()
    {
        try
        {
            PrometheusText.Parse(Fetch());
            return null;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or FormatException or IOException)
        {
            return Describe(e);
        }
    }

    public void PhaseStarted(string phase, long timestamp)
    {
        if (phase == RunPhases.Measuring && _thread is null)
        {
            _windowStart = timestamp;
            _thread = new Thread(Loop) { IsBackground = true, Name = "harness-server-metrics" };
            _thread.Start();
        }
        else if (phase == RunPhases.Done && _thread is not null && !_stop)
        {
            Stop();
        }
    }

    public void RequestEnded(RequestOutcome outcome, long latencyTicks, int inputUnits, int outputUnits)
    {
    }

    /// <summary>Ends the scraping after one last scrape (the window's end).</summary>
    public void Stop()
    {
        if (_thread is null || _stop)
        {
            return;
        }

        _stop = true;
        _wake.Set();
        _thread.Join(TimeSpan.FromSeconds(10));
    }

    public void Dispose()
    {
        Stop();
        _http.Dispose();
        _wake.Dispose();
    }

    /// <summary>What the scrapes saw over the window.</summary>
    public ServerMetricsReport Report()
    {
        lock (_gate)
        {
            return ServerMetricsReport.Build(Url.ToString(), Interval, _scrapes, Failures, LastError, FirstFamilies, LastFamilies, _windowStart, _clock.Frequency);
        }
    }

    private void Loop()
    {
        long next = _clock.Timestamp;
        long step = _clock.FromTimeSpan(Interval);
        while (true)
        {
            ScrapeOnce();
            if (_stop)
            {
                return;
            }

            next += step;
            long wait = next - _clock.Timestamp;
            if (wait > 0)
            {
                _wake.WaitOne(TimeSpan.FromSeconds((double)wait / _clock.Frequency));
            }
            else
            {
                next = _clock.Timestamp;
            }

            if (_stop)
            {
                ScrapeOnce(); // the window's end
                return;
            }
        }
    }

    private void ScrapeOnce()
    {
        long t = _clock.Timestamp;
        try
        {
            IReadOnlyList<MetricFamily> families = PrometheusText.Parse(Fetch());
            var scrape = Scrape.From(t, families);
            lock (_gate)
            {
                _scrapes.Add(scrape);
                FirstFamilies ??= families;
                LastFamilies = families;
            }
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or FormatException or IOException or InvalidOperationException)
        {
            lock (_gate)
            {
                Failures++;
                LastError = Describe(e);
            }
        }
    }

    private string Fetch()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, Url);
        request.Headers.Accept.ParseAdd("text/plain; version=0.0.4");
        using HttpResponseMessage response = _http.Send(request);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"HTTP {(int)response.StatusCode} {response.ReasonPhrase}");
        }

        using var reader = new StreamReader(response.Content.ReadAsStream());
        return reader.ReadToEnd();
    }

    private static string Describe(Exception e) => e switch
    {
        TaskCanceledException => "timed out",
        HttpRequestException { InnerException: { } inner } h => $"{h.Message} ({inner.Message})",
        _ => e.Message,
    };

    /// <summary>The known series' values of one scrape: gauges and counters summed over their label sets, histograms by bucket.</summary>
    internal sealed class Scrape
    {
        public long Timestamp { get; init; }

        public Dictionary<string, (string Name, double Value)> Values { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, (string Name, Histogram Histogram)> Histograms { get; } = new(StringComparer.Ordinal);

        public static Scrape From(long timestamp, IReadOnlyList<MetricFamily> families)
        {
            var scrape = new Scrape { Timestamp = timestamp };
            var byName = new Dictionary<string, MetricFamily>(StringComparer.Ordinal);
            foreach (MetricFamily f in families)
            {
                byName.TryAdd(f.Name, f);
            }

            foreach (KnownServerMetric known in KnownServerMetrics.All)
            {
                foreach (string name in known.Names)
                {
                    if (Resolve(byName, name) is not { } family)
                    {
                        continue;
                    }

                    if (known.Kind == ServerMetricKind.Histogram)
                    {
                        if (Histogram.From(family) is { } h)
                        {
                            scrape.Histograms[known.Key] = (family.Name, h);
                            break;
                        }

                        continue;
                    }

                    double sum = 0;
                    int n = 0;
                    foreach (PrometheusSample s in family.Samples)
                    {
                        if ((s.Name == name || s.Name == family.Name || s.Name == family.Name + "_total") && !double.IsNaN(s.Value))
                        {
                            sum += s.Value;
                            n++;
                        }
                    }

                    if (n > 0)
                    {
                        scrape.Values[known.Key] = (name, sum);
                        break;
                    }
                }
            }

            return scrape;
        }

        /// <summary>A counter named x_total may be declared as family x (OpenMetrics).</summary>
        private static MetricFamily? Resolve(Dictionary<string, MetricFamily> byName, string name)
        {
            if (byName.TryGetValue(name, out MetricFamily? f))
            {
                return f;
            }

            return name.EndsWith("_total", StringComparison.Ordinal) && byName.TryGetValue(name[..^"_total".Length], out f) ? f : null;
        }
    }

    /// <summary>A histogram summed over its label sets: cumulative counts by upper bound, sum and count.</summary>
    internal sealed class Histogram
    {
        public SortedDictionary<double, double> Buckets { get; } = [];

        public double Sum { get; set; }

        public double Count { get; set; }

        public static Histogram? From(MetricFamily family)
        {
            if (family.Type is not ("histogram" or "gaugehistogram"))
            {
                return null;
            }

            var h = new Histogram();
            foreach (PrometheusSample s in family.Samples)
            {
                if (s.Name.EndsWith("_bucket", StringComparison.Ordinal) && s.Label("le") is { } le)
                {
                    double bound = PrometheusText.Bound(le);
                    h.Buckets[bound] = h.Buckets.GetValueOrDefault(bound) + s.Value;
                }
                else if (s.Name.EndsWith("_sum", StringComparison.Ordinal))
                {
                    h.Sum += s.Value;
                }
                else if (s.Name.EndsWith("_count", StringComparison.Ordinal))
                {
                    h.Count += s.Value;
                }
            }

            return h.Buckets.Count > 0 || h.Count > 0 ? h : null;
        }

        /// <summary>The observations between two scrapes: bucket by bucket, sum and count (a reset: the later one alone).</summary>
        public static Histogram Delta(Histogram first, Histogram last)
        {
            bool reset = last.Count < first.Count;
            var d = new Histogram { Sum = reset ? last.Sum : last.Sum - first.Sum, Count = reset ? last.Count : last.Count - first.Count };
            foreach ((double bound, double n) in last.Buckets)
            {
                d.Buckets[bound] = reset ? n : n - first.Buckets.GetValueOrDefault(bound);
            }

            return d;
        }

        /// <summary>Prometheus' histogram_quantile: linear within the bucket; in the +Inf bucket, the largest finite bound.</summary>
        public double? Quantile(double q)
        {
            if (Count <= 0 || Buckets.Count == 0)
            {
                return null;
            }

            double total = Buckets.TryGetValue(double.PositiveInfinity, out double inf) ? inf : Buckets.Values.Last();
            if (total <= 0)
            {
                return null;
            }

            double rank = q * total;
            double lowerBound = 0, lowerCount = 0;
            foreach ((double bound, double cumulative) in Buckets)
            {
                if (cumulative >= rank)
                {
                    if (double.IsPositiveInfinity(bound))
                    {
                        return lowerBound;
                    }

                    double inBucket = cumulative - lowerCount;
                    return inBucket <= 0 ? bound : lowerBound + ((bound - lowerBound) * (rank - lowerCount) / inBucket);
                }

                lowerBound = bound;
                lowerCount = cumulative;
            }

            return lowerBound;
        }
    }
}
