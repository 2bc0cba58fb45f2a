using Harness.Backends;
using Harness.Engine;
using Harness.Measurement;
using Harness.Metrics;

namespace Harness.Models;

/// <summary>
/// Options of the <c>gemm</c> workload: C[m,n] = A[m,k] x B[k,n] at a dtype, repeated per request
/// (so that one request on a GPU is long enough to time). Keys: size (m = n = k), m, n, k, repeats; the dtype is --dtype.
/// </summary>
public sealed record GemmSettings(int M, int N, int K, TensorDType DType, int Repeats)
{
    public double FlopsPerRequest => 2.0 * M * N * K * Repeats;

    /// <param name="settings">The <c>--set</c> settings.</param>
    /// <param name="dtype">From <c>--dtype</c>, else the backend's default.</param>
    public static GemmSettings From(IReadOnlyDictionary<string, string> settings, TensorDType dtype, int defaultSize, int defaultRepeats)
    {
        var x = settings;
        int size = GenerateSettings.Int(x, "size", defaultSize, 1);
        var s = new GemmSettings(
            GenerateSettings.Int(x, "m", size, 1),
            GenerateSettings.Int(x, "n", size, 1),
            GenerateSettings.Int(x, "k", size, 1),
            dtype,
            GenerateSettings.Int(x, "repeats", defaultRepeats, 1));
        long bytes = ((long)s.M * s.K + (long)s.K * s.N + (long)s.M * s.N) * s.DType.Bytes();
        if (bytes > 64L << 30)
        {
            throw HarnessException.BadInput($"gemm {s.M}x{s.N}x{s.K} needs {MemoryFit.Gib(bytes)} of operands; use a smaller size.");
        }

        return s;
    }

    public Dictionary<string, object?> Details() => new()
    {
        ["m"] = M, ["n"] = N, ["k"] = K, ["dtype"] = DType.ShortName(), ["repeats"] = Repeats,
        ["flops_per_request"] = FlopsPerRequest,
    };
}

/// <summary>
/// Options of the <c>copy</c> workload: stream a buffer of size_mib MiB, repeated per request. mode=copy
/// (default) writes it into another buffer, bytes moved = read + write (as STREAM counts them);
/// mode=read sums it, bytes moved = the buffer (a read-only stream, like a decode step's weights).
/// </summary>
public sealed record CopySettings(long Bytes, TensorDType DType, int Repeats, bool ReadOnly = false)
{
    public double BytesPerRequest => (ReadOnly ? 1.0 : 2.0) * Bytes * Repeats;

    public long Elements => Bytes / DType.Bytes();

    public string Mode => ReadOnly ? "read" : "copy";

    /// <param name="settings">The <c>--set</c> settings.</param>
    /// <param name="dtype">From <c>--dtype</c>; the elements' type only sets how the buffer is read.</param>
    public static CopySettings From(IReadOnlyDictionary<string, string> settings, TensorDType? dtype, int defaultMib, int defaultRepeats)
    {
        var x = settings;
        int mib = GenerateSettings.Int(x, "size_mib", defaultMib, 1);
        string mode = x.TryGetValue("mode", out string? m) ? m.Trim().ToLowerInvariant() : "copy";
        if (mode is not ("copy" or "read"))
        {
            throw HarnessException.BadInput($"copy mode '{mode}' is unknown; use mode=copy (read + write) or mode=read (read only).");
        }

        return new CopySettings((long)mib << 20, dtype ?? TensorDType.Float32, GenerateSettings.Int(x, "repeats", defaultRepeats, 1), mode == "read");
    }

    public Dictionary<string, object?> Details() => new()
    {
        ["buffer_bytes"] = Bytes, ["dtype"] = DType.ShortName(), ["repeats"] = Repeats, ["mode"] = Mode,
        ["bytes_per_request"] = BytesPerRequest,
    };
}

/// <summary>Achieved FLOP/s or bytes/s of the ceiling workloads.</summary>
public static class CeilingMetrics
{
    public static IReadOnlyList<DerivedMetric> Gemm(EngineResult run, GemmSettings s, PeakRates? catalog)
    {
        double? perRequest = MedianSeconds(run);
        double? rate = perRequest is > 0 ? s.FlopsPerRequest / perRequest : null;
        return
        [
            new(MetricCatalog.AchievedFlopsPerS, rate),
            new(MetricCatalog.AchievedTflops, rate / 1e12),
            new(MetricCatalog.PeakFlopsPerS, catalog?.FlopsPerS, PeakNote(catalog)),
            new(MetricCatalog.FractionOfPeak, rate is { } r && catalog?.FlopsPerS is > 0 ? r / catalog.FlopsPerS : null, "achieved_flops_per_s / peak_flops_per_s"),
        ];
    }

    public static IReadOnlyList<DerivedMetric> Copy(EngineResult run, CopySettings s, PeakRates? catalog)
    {
        double? perRequest = MedianSeconds(run);
        double? rate = perRequest is > 0 ? s.BytesPerRequest / perRequest : null;
        return
        [
            new(MetricCatalog.AchievedBytesPerS, rate, s.ReadOnly ? "buffer bytes x repeats, read only" : "2 x buffer bytes x repeats, read + write"),
            new(MetricCatalog.AchievedGbPerS, rate / 1e9),
            new(MetricCatalog.PeakBytesPerS, catalog?.BytesPerS, PeakNote(catalog)),
            new(MetricCatalog.FractionOfPeak, rate is { } r && catalog?.BytesPerS is > 0 ? r / catalog.BytesPerS : null, "achieved_bytes_per_s / peak_bytes_per_s"),
        ];
    }

    private static string PeakNote(PeakRates? catalog) => catalog is null ? "no catalog peak for this device" : $"{catalog.Device}, {catalog.Source}";

    /// <summary>The median, not the mean: a ceiling is what the machine does when nothing disturbs it.</summary>
    private static double? MedianSeconds(EngineResult run) => DistributionSummary.From(run.Latency)?.P50 / 1000.0;
}
