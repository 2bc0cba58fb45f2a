using Harness.Datasets;
using Harness.Measurement;
using Harness.ServerMetrics;

namespace Harness.Decoding;

/// <summary>What is checked against the endpoint before anything is measured: one short request, and the server's metrics.</summary>
internal static class EndpointPreparation
{
    /// <summary>One short request before anything is measured: a wrong model, key or URL shows here, in one sentence.</summary>
    public static void Probe(ILlmEndpoint endpoint, string name, PromptItem first, long frequency, CancellationToken cancellationToken)
    {
        var probe = new EndpointWorker(frequency);
        var request = new LlmRequest
        {
            PromptTokens = first.InputTokens,
            MaxNewTokens = Math.Min(first.OutputTokens, 4),
            Messages = first.Messages,
        };
        endpoint.Run(request, probe.Stream, cancellationToken);
        if (probe.Stream.Error is not null)
        {
            string why = probe.Stream.Record.Failure ?? probe.Stream.Error.Message;
            throw HarnessException.BadInput($"The endpoint {name} failed a first request: {why}");
        }
    }

    /// <summary>
    /// The scraper of the server's metrics, or null with the note why: turned off, no URL, or the
    /// endpoint's own /metrics not answering. A URL given that does not answer is bad input.
    /// </summary>
    public static (ServerMetricsScraper? Scraper, string? Note) StartServerMetrics(
        ServerMetricsOption option, Uri? endpointUrl, IClock clock)
    {
        if (option.Off)
        {
            return (null, "not scraped (--server-metrics off)");
        }

        Uri? url = option.Url ?? endpointUrl;
        if (url is null)
        {
            return (null, "the endpoint names no metrics URL");
        }

        var scraper = new ServerMetricsScraper(url, clock, TimeSpan.FromSeconds(1));
        if (scraper.Probe() is { } why)
        {
            scraper.Dispose();
            return option.Url is not null
                ? throw HarnessException.BadInput($"--server-metrics {url} did not answer: {why}.")
                : (null, $"no metrics at {url}: {why}");
        }

        return (scraper, null);
    }
}
