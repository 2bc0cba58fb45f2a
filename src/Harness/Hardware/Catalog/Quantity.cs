namespace Harness.Hardware.Catalog;

/// <summary>
/// One number of a catalog and where it comes from. Every number carries its unit, source and
/// date so that a planner can judge it, and the loader checks the unit against the field.
/// </summary>
public sealed class Quantity
{
    public double Value { get; init; }

    public string? Unit { get; init; }

    /// <summary>A key of the catalog's <c>sources</c>.</summary>
    public string? Source { get; init; }

    /// <summary>As-of date of the number (ISO yyyy-MM-dd).</summary>
    public string? Date { get; init; }

    /// <summary>V read in a primary source, S secondary only, U uncertain (see note).</summary>
    public string? Grade { get; init; }

    public string? Note { get; init; }
}

/// <summary>A source that catalog numbers cite by key.</summary>
public sealed class CatalogSource
{
    public string? Title { get; init; }

    /// <summary>Where to read it: a URL or owner/repo:path.</summary>
    public string? Ref { get; init; }

    public string? Date { get; init; }

    public string? DateNote { get; init; }
}
