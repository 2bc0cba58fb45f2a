using System.Globalization;
using System.Text.Json;
using static System.FormattableString;

namespace Harness.Agents.Profiles;

/// <summary>
/// A distribution of a size or count in a profile, sampled with a seeded <see cref="Random"/> so that
/// a profile and a seed fix every job. JSON forms: a bare number (fixed), <c>{"fixed": x}</c>,
/// <c>{"uniform": [a, b]}</c>, <c>{"lognormal": {"median": m, "p90": q}}</c> and
/// <c>{"choice": {"value": weight, ...}}</c>, each with optional <c>"min"</c> and <c>"max"</c> clamps.
/// </summary>
public abstract class Distribution
{
    /// <summary>z of the 90th percentile of the standard normal: lognormal sigma = ln(p90 / median) / z90.</summary>
    private const double Z90 = 1.2815515655446004;

    private double _min = double.NegativeInfinity;
    private double _max = double.PositiveInfinity;

    /// <summary>The form as written in the profile, for the result's config.</summary>
    public abstract string Describe();

    public double Sample(Random rng) => Math.Clamp(SampleRaw(rng), _min, _max);

    /// <summary>The largest value a sample can take after clamping, rounded; infinity for an unclamped lognormal.</summary>
    public double Largest => Math.Round(Math.Clamp(RawLargest, _min, _max));

    /// <summary>The smallest value a sample can take after clamping, rounded.</summary>
    public double Smallest => Math.Round(Math.Clamp(RawSmallest, _min, _max));

    /// <summary>A sample rounded to an integer of at least <paramref name="floor"/>.</summary>
    public int SampleInt(Random rng, int floor = 0) => (int)Math.Max(floor, Math.Round(Sample(rng)));

    /// <summary>The mean after clamping and rounding, estimated from a fixed number of seeded draws.</summary>
    public double EstimateMean(int draws = 20_000)
    {
        var rng = new Random(12345);
        double sum = 0;
        for (int i = 0; i < draws; i++)
        {
            sum += Math.Round(Sample(rng));
        }

        return sum / draws;
    }

    public static Distribution Fixed(double value) => new FixedDistribution(value);

    public static Distribution Uniform(double low, double high) => new UniformDistribution(low, high);

    public static Distribution LogNormal(double median, double p90) => new LogNormalDistribution(median, p90);

    /// <summary>Parses one distribution; <paramref name="where"/> names it in the error sentence.</summary>
    public static Distribution Parse(JsonElement e, string where)
    {
        if (e.ValueKind == JsonValueKind.Number)
        {
            return new FixedDistribution(e.GetDouble());
        }

        if (e.ValueKind != JsonValueKind.Object)
        {
            throw Bad(where, "is neither a number nor an object such as {\"lognormal\": {\"median\": 100, \"p90\": 400}}");
        }

        Distribution? d = null;
        double? min = null, max = null;
        foreach (JsonProperty p in e.EnumerateObject())
        {
            switch (p.Name)
            {
                case "fixed":
                    d = new FixedDistribution(Number(p.Value, where));
                    break;
                case "uniform":
                    if (p.Value.ValueKind != JsonValueKind.Array || p.Value.GetArrayLength() != 2)
                    {
                        throw Bad(where, "needs \"uniform\": [low, high]");
                    }

                    d = new UniformDistribution(Number(p.Value[0], where), Number(p.Value[1], where));
                    break;
                case "lognormal":
                    double median = Number(Property(p.Value, "median", where), where);
                    double p90 = Number(Property(p.Value, "p90", where), where);
                    d = new LogNormalDistribution(median, p90);
                    break;
                case "choice":
                    var values = new List<(double Value, double Weight)>();
                    foreach (JsonProperty c in p.Value.EnumerateObject())
                    {
                        if (!double.TryParse(c.Name, NumberStyles.Float, CultureInfo.InvariantCulture, out double v))
                        {
                            throw Bad(where, $"has a choice '{c.Name}' that is not a number");
                        }

                        values.Add((v, Number(c.Value, where)));
                    }

                    d = new ChoiceDistribution(values, where);
                    break;
                case "min":
                    min = Number(p.Value, where);
                    break;
                case "max":
                    max = Number(p.Value, where);
                    break;
                default:
                    throw Bad(where, $"has an unknown key '{p.Name}' (expected fixed, uniform, lognormal, choice, min, max)");
            }
        }

        if (d is null)
        {
            throw Bad(where, "names no distribution (fixed, uniform, lognormal or choice)");
        }

        d._min = min ?? double.NegativeInfinity;
        d._max = max ?? double.PositiveInfinity;
        if (d._min > d._max)
        {
            throw Bad(where, "has min above max");
        }

        return d;
    }

    protected abstract double SampleRaw(Random rng);

    protected abstract double RawLargest { get; }

    protected abstract double RawSmallest { get; }

    protected string Clamps() =>
        (double.IsFinite(_min) ? Invariant($", min {_min}") : "") + (double.IsFinite(_max) ? Invariant($", max {_max}") : "");

    private static JsonElement Property(JsonElement e, string name, string where) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out JsonElement v) ? v : throw Bad(where, $"needs \"{name}\"");

    private static double Number(JsonElement e, string where) =>
        e.ValueKind == JsonValueKind.Number && double.IsFinite(e.GetDouble()) ? e.GetDouble() : throw Bad(where, "has a value that is not a finite number");

    private static HarnessException Bad(string where, string what) => HarnessException.BadInput($"Distribution {where} {what}.");

    private sealed class FixedDistribution(double value) : Distribution
    {
        public override string Describe() => Invariant($"fixed {value}") + Clamps();

        protected override double SampleRaw(Random rng) => value;

        protected override double RawLargest => value;

        protected override double RawSmallest => value;
    }

    private sealed class UniformDistribution : Distribution
    {
        private readonly double _low;
        private readonly double _high;

        public UniformDistribution(double low, double high)
        {
            if (high < low)
            {
                throw HarnessException.BadInput(Invariant($"A uniform distribution needs low <= high, got [{low}, {high}]."));
            }

            _low = low;
            _high = high;
        }

        public override string Describe() => Invariant($"uniform [{_low}, {_high}]") + Clamps();

        protected override double SampleRaw(Random rng) => _low + (rng.NextDouble() * (_high - _low));

        protected override double RawLargest => _high;

        protected override double RawSmallest => _low;
    }

    private sealed class LogNormalDistribution : Distribution
    {
        private readonly double _median;
        private readonly double _p90;
        private readonly double _mu;
        private readonly double _sigma;

        public LogNormalDistribution(double median, double p90)
        {
            if (median <= 0 || p90 < median)
            {
                throw HarnessException.BadInput(
                    Invariant($"A lognormal distribution needs 0 < median <= p90, got median {median}, p90 {p90}."));
            }

            _median = median;
            _p90 = p90;
            _mu = Math.Log(median);
            _sigma = Math.Log(p90 / median) / Z90;
        }

        public override string Describe() => Invariant($"lognormal median {_median}, p90 {_p90}") + Clamps();

        protected override double RawLargest => double.PositiveInfinity;

        protected override double RawSmallest => 0;

        protected override double SampleRaw(Random rng)
        {
            // Box-Muller; 1 - NextDouble() keeps the logarithm's argument in (0, 1].
            double u1 = 1.0 - rng.NextDouble();
            double u2 = rng.NextDouble();
            double z = Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
            return Math.Exp(_mu + (_sigma * z));
        }
    }

    private sealed class ChoiceDistribution : Distribution
    {
        private readonly (double Value, double Weight)[] _values;
        private readonly double _total;

        public ChoiceDistribution(List<(double Value, double Weight)> values, string where)
        {
            if (values.Count == 0 || values.Any(v => v.Weight < 0) || values.Sum(v => v.Weight) <= 0)
            {
                throw Bad(where, "needs at least one choice with a positive weight");
            }

            _values = values.ToArray();
            _total = values.Sum(v => v.Weight);
        }

        public override string Describe() =>
            "choice " + string.Join(", ", _values.Select(v => Invariant($"{v.Value}:{v.Weight}"))) + Clamps();

        protected override double RawLargest => _values.Where(v => v.Weight > 0).Max(v => v.Value);

        protected override double RawSmallest => _values.Where(v => v.Weight > 0).Min(v => v.Value);

        protected override double SampleRaw(Random rng)
        {
            double r = rng.NextDouble() * _total;
            foreach ((double value, double weight) in _values)
            {
                r -= weight;
                if (r < 0)
                {
                    return value;
                }
            }

            return _values[^1].Value;
        }
    }
}
