namespace Harness.Projection;

/// <summary>A projected number with its error bar: the central value and the lowest and highest plausible values.</summary>
public readonly record struct Estimate(double Value, double Low, double High)
{
    public static Estimate Exact(double value) => new(value, value, value);

    /// <summary>The central value and the range of every evaluated corner (the center included).</summary>
    public static Estimate FromCorners(double value, IEnumerable<double> corners)
    {
        double lo = value, hi = value;
        foreach (double c in corners)
        {
            lo = Math.Min(lo, c);
            hi = Math.Max(hi, c);
        }

        return new Estimate(value, lo, hi);
    }

    /// <summary>Applies a monotone function to the value and both ends (the ends are re-sorted).</summary>
    public Estimate Map(Func<double, double> f)
    {
        double a = f(Low), b = f(High);
        return new Estimate(f(Value), Math.Min(a, b), Math.Max(a, b));
    }

    /// <summary>x * y for positive ranges: ends multiply with ends.</summary>
    public Estimate Times(Estimate other) => new(Value * other.Value, Low * other.Low, High * other.High);

    /// <summary>x / y for positive ranges: the low end divides by the other's high end.</summary>
    public Estimate Over(Estimate other) => new(Value / other.Value, Low / other.High, High / other.Low);

    public Estimate Round(int digits) => new(Math.Round(Value, digits), Math.Round(Low, digits), Math.Round(High, digits));

    /// <summary>"812 (700-900)" with a .NET number format, invariant culture; the range is left out when it is empty.</summary>
    public string Format(string format = "#,0.##")
    {
        var c = System.Globalization.CultureInfo.InvariantCulture;
        string v = Value.ToString(format, c);
        string lo = Low.ToString(format, c), hi = High.ToString(format, c);
        return lo == hi ? v : $"{v} ({lo}-{hi})";
    }

    public override string ToString() => Format("G4");
}
