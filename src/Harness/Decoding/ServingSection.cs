using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using Harness.Metrics;
using Harness.Results;

namespace Harness.Decoding;

/// <summary>
/// The <c>serving</c> section of a result file (<see cref="ServingReport"/>), registered with the results layer
/// (<see cref="ResultSections"/>, which says why by a module initializer), with its lines of the terminal summary.
/// </summary>
public static class ServingSection
{
    public const string Key = "serving";

    [ModuleInitializer]
    [SuppressMessage("Usage", "CA2255:The 'ModuleInitializer' attribute should not be used in libraries",
        Justification = "Registers a result section of this assembly before any of its code runs: see ResultSections.")]
    internal static void Register() => ResultSections.Register<ServingReport>(Key, Summary);

    extension(ResultDocument doc)
    {
        /// <summary>
        /// A run against a request-level endpoint (an HTTP server): usage beside the client's counts, output length control,
        /// the server's own metrics.
        /// </summary>
        public ServingReport? Serving
        {
            get => doc.Section<ServingReport>();
            set => doc.SetSection(value);
        }
    }

    /// <summary>The server's own metrics and the connection retries, in the terminal summary of a run.</summary>
    private static void Summary(StringBuilder sb, ServingReport serving, ResultDocument doc)
    {
        var c = CultureInfo.InvariantCulture;
        if (serving.ServerMetrics is { } server)
        {
            string Known(string key, string label) => server.Known.FirstOrDefault(k => k.Key == key) is not { } k ? ""
                : k.Kind == "gauge" ? string.Create(c, $"{label} mean {k.Mean:0.##} (max {k.Max:0.##})")
                : k.Kind == "counter" ? string.Create(c, $"{label} {k.RatePerS:0.#}/s")
                : string.Create(c, $"{label} p50 {k.P50 * 1000:0.#} ms");
            var parts = new[]
            {
                Known("requests_running", "running"), Known("requests_waiting", "waiting"), Known("kv_cache_usage", "KV cache"),
                Known("generation_tokens", "generated"), Known("ttft", "server TTFT"),
            }.Where(p => p.Length > 0);
            sb.Append(c, $"Server ({server.Server}, {server.Scrapes} scrapes): {string.Join(", ", parts)}\n");
        }

        if (doc.Metrics.Value(MetricCatalog.ConnectionRetries) is > 0 and var retries)
        {
            IEnumerable<string> reasons = serving.ConnectionRetries.OrderByDescending(r => r.Value)
                .Select(r => string.Create(c, $"{r.Key} x{r.Value}"));
            string why = string.Join(", ", reasons);
            sb.Append(c, $"Connection retries: {retries:0} ({why}): sent again once on a fresh connection after a reused one ");
            sb.Append("died before the response; not failed, TTFT from the first send.\n");
        }
    }
}
