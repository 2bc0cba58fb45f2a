using Harness.Results;

namespace Harness.Running;

/// <summary>
/// The price a run's result is annotated with before it is written (<c>--price</c>, <c>--instance</c>). The cost
/// layer implements it (<c>PriceOffer</c>) and the CLI passes it in, so that running, a lower layer, names no cost type.
/// </summary>
public interface IResultPrice
{
    /// <summary>Adds the cost metrics and config.price to the document (nothing for a result with no throughput).</summary>
    void Annotate(ResultDocument doc);

    /// <summary>The price as config.price and a sweep document record it.</summary>
    IReadOnlyDictionary<string, object?> Describe();
}
