using Harness.Backends;
using Harness.Datasets;
using Harness.ServerMetrics;

namespace Harness.Decoding;

/// <summary>
/// What the requests of <c>generate</c> over an endpoint are made of, typed and checked when the
/// workload is created (before anything connects): the dataset (parsed once; without <c>--dataset</c>,
/// synthetic prompts of --prompt-tokens and --new-tokens), where the server's metrics are scraped,
/// and the model shape the server is said to serve (<c>--model-config</c>, for cost and projection).
/// </summary>
public sealed record EndpointRequestSpec
{
    public required DatasetSpec Dataset { get; init; }

    public ServerMetricsOption ServerMetrics { get; init; } = ServerMetricsOption.EndpointDefault;

    public DecoderConfig? ModelConfig { get; init; }

    /// <summary>From the options the command line parsed; a bad <c>--server-metrics</c> is bad input here.</summary>
    public static EndpointRequestSpec From(WorkloadOptions options) => new()
    {
        Dataset = options.Input<DatasetSpec>() ?? DatasetSpec.Synthetic(options.PromptTokens, options.NewTokens),
        ServerMetrics = ServerMetricsOption.Parse(options.ServerMetrics),
        ModelConfig = options.ModelConfig,
    };
}
