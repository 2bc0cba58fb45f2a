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

    public static readonly SettingKey<int> SizeKey = Setting.Int("size", 0, 1, "m = n = k", "2048 on cpu, 8192 on cuda");
    public static readonly SettingKey<int> MKey = Setting.Int(ConfigKeys.M, 0, 1, "rows of A and C", "size");
    public static readonly SettingKey<int> NKey = Setting.Int(ConfigKeys.N, 0, 1, "columns of B and C", "size");
    public static readonly SettingKey<int> KKey = Setting.Int(ConfigKeys.K, 0, 1, "columns of A, rows of B", "size");
    public static readonly SettingKey<int> RepeatsKey =
        Setting.Int(ConfigKeys.Repeats, 0, 1, "products per request", "1 on cpu, 20 on cuda");

    /// <summary>The <c>--set</c> keys of gemm.</summary>
    public static SettingsSchema Schema { get; } = new(SizeKey, MKey, NKey, KKey, RepeatsKey);

    /// <param name="settings">The <c>--set</c> settings.</param>
    /// <param name="dtype">From <c>--dtype</c>, else the backend's default.</param>
    public static GemmSettings From(IReadOnlyDictionary<string, string> settings, TensorDType dtype, int defaultSize, int defaultRepeats)
    {
        int size = SizeKey.Get(settings, defaultSize);
        var s = new GemmSettings(
            MKey.Get(settings, size), NKey.Get(settings, size), KKey.Get(settings, size), dtype, RepeatsKey.Get(settings, defaultRepeats));
        long bytes = ((long)s.M * s.K + (long)s.K * s.N + (long)s.M * s.N) * s.DType.Bytes();
        if (bytes > 64L << 30)
        {
            throw HarnessException.BadInput($"gemm {s.M}x{s.N}x{s.K} needs {MemoryFit.Gib(bytes)} of operands; use a smaller size.");
        }

        return s;
    }

    public Dictionary<string, object?> Details() => new()
    {
        [ConfigKeys.M] = M, [ConfigKeys.N] = N, [ConfigKeys.K] = K, [ConfigKeys.Dtype] = DType.ShortName(), [ConfigKeys.Repeats] = Repeats,
        [ConfigKeys.FlopsPerRequest] = FlopsPerRequest,
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

    public static readonly SettingKey<int> SizeMibKey = Setting.Int("size_mib", 0, 1, "buffer size in MiB", "256 on cpu, 1024 on cuda");
    public static readonly SettingKey<int> RepeatsKey =
        Setting.Int(ConfigKeys.Repeats, 0, 1, "passes over the buffer per request", "1 on cpu, 20 on cuda");
    public static readonly SettingKey<string> ModeKey =
        Setting.Choice(ConfigKeys.Mode, "copy", "copy: read + write into another buffer; read: read only", "copy", "read");

    /// <summary>The <c>--set</c> keys of copy.</summary>
    public static SettingsSchema Schema { get; } = new(SizeMibKey, RepeatsKey, ModeKey);

    /// <param name="settings">The <c>--set</c> settings.</param>
    /// <param name="dtype">From <c>--dtype</c>; the elements' type only sets how the buffer is read.</param>
    public static CopySettings From(IReadOnlyDictionary<string, string> settings, TensorDType? dtype, int defaultMib, int defaultRepeats) =>
        new(
            (long)SizeMibKey.Get(settings, defaultMib) << 20,
            dtype ?? TensorDType.Float32,
            RepeatsKey.Get(settings, defaultRepeats),
            ModeKey.Get(settings) == "read");

    public Dictionary<string, object?> Details() => new()
    {
        [ConfigKeys.BufferBytes] = Bytes, [ConfigKeys.Dtype] = DType.ShortName(), [ConfigKeys.Repeats] = Repeats, [ConfigKeys.Mode] = Mode,
        [ConfigKeys.BytesPerRequest] = BytesPerRequest,
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
