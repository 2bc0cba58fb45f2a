using Harness.Backends;
using Microsoft.ML.OnnxRuntime;

namespace Harness.Onnx;

/// <summary>
/// Builds ONNX Runtime sessions from the harness's options: execution provider, graph optimization
/// level, threads. Turns every load failure into one sentence for the user.
/// </summary>
public static class OnnxSessionFactory
{
    /// <summary>The <c>--set</c> key that turns on CUDA graph capture (CUDA provider; the workload must bind fixed device buffers).</summary>
    public static readonly SettingKey<bool> CudaGraphKey =
        Setting.Flag("cuda_graph", false, "1: capture and replay CUDA graphs (onnx:cuda, fixed shapes)");

    /// <summary>
    /// The <c>--set</c> key that turns ONNX Runtime's profiler on for a decoder's session (the whole session: ONNX
    /// Runtime has no switch for part of one), its raw profile and per-op summary written at PATH.* (Profiling/DecoderProfile).
    /// </summary>
    public static readonly SettingKey<string?> ProfileKey = Setting.Text(
        Harness.Metrics.ConfigKeys.OrtProfile, "off",
        "PATH: ONNX Runtime's profiler on (perturbs timing); PATH.ort-profile.json, PATH.ort-summary.md (per op, per decode step)");

    /// <summary>The keys every ONNX workload takes (the session's).</summary>
    public static SettingsSchema Settings { get; } = new(RuntimeSettings.Spin);

    /// <param name="cudaGraph">Ask the CUDA provider to capture and replay CUDA graphs; only for callers whose runs use fixed shapes and addresses.</param>
    /// <param name="profilePrefix">Turns ONNX Runtime's profiler on, its file written under this prefix; null for none.</param>
    public static InferenceSession Create(
        string modelPath, BackendSpec backend, WorkloadOptions options, bool cudaGraph = false, string? profilePrefix = null) =>
        Create(modelPath, null, backend, options, cudaGraph, profilePrefix);

    public static InferenceSession Create(byte[] model, string name, BackendSpec backend, WorkloadOptions options) =>
        Create(name, model, backend, options, false, null);

    private static InferenceSession Create(
        string name, byte[]? bytes, BackendSpec backend, WorkloadOptions options, bool cudaGraph, string? profilePrefix)
    {
        if (bytes is null && !File.Exists(name))
        {
            throw HarnessException.BadInput($"Model file '{name}' does not exist.");
        }

        using SessionOptions so = BuildOptions(backend, options, cudaGraph);
        if (profilePrefix is not null)
        {
            so.EnableProfiling = true;
            so.ProfileOutputPathPrefix = profilePrefix;
        }

        try
        {
            return bytes is null ? new InferenceSession(name, so) : new InferenceSession(bytes, so);
        }
        catch (OnnxRuntimeException e)
        {
            throw HarnessException.BadInput($"Model '{name}' could not be loaded by ONNX Runtime: {FirstLine(e.Message)}", e);
        }
    }

    public static GraphOptimizationLevel LevelOf(GraphOptimization level) => level switch
    {
        GraphOptimization.None => GraphOptimizationLevel.ORT_DISABLE_ALL,
        GraphOptimization.Basic => GraphOptimizationLevel.ORT_ENABLE_BASIC,
        GraphOptimization.Extended => GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
        _ => GraphOptimizationLevel.ORT_ENABLE_ALL,
    };

    private static SessionOptions BuildOptions(BackendSpec backend, WorkloadOptions options, bool cudaGraph)
    {
        var so = new SessionOptions
        {
            GraphOptimizationLevel = LevelOf(options.Optimization),
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
        };
        try
        {
            if (options.Threads is { } t)
            {
                so.IntraOpNumThreads = t;
            }

            if (options.InterOpThreads is { } i)
            {
                so.InterOpNumThreads = i;
            }

            // --set spin=0: worker threads sleep instead of spinning between ops (fairer on a shared
            // or oversubscribed CPU; the counterpart of OMP_WAIT_POLICY=PASSIVE for libtorch).
            if (RuntimeSettings.Spin.IsSet(options.Extra))
            {
                string allow = RuntimeSettings.Spin.Get(options.Extra) ? "1" : "0";
                so.AddSessionConfigEntry("session.intra_op.allow_spinning", allow);
                so.AddSessionConfigEntry("session.inter_op.allow_spinning", allow);
            }

            if (backend.Device == "cuda")
            {
                try
                {
                    if (cudaGraph)
                    {
                        using var cuda = new OrtCUDAProviderOptions();
                        cuda.UpdateOptions(new Dictionary<string, string>
                        {
                            ["device_id"] = backend.DeviceId.ToString(System.Globalization.CultureInfo.InvariantCulture),
                            ["enable_cuda_graph"] = "1",
                        });
                        so.AppendExecutionProvider_CUDA(cuda);
                    }
                    else
                    {
                        so.AppendExecutionProvider_CUDA(backend.DeviceId);
                    }
                }
                catch (OnnxRuntimeException e)
                {
                    throw HarnessException.BadInput($"ONNX Runtime's CUDA provider could not start on device {backend.DeviceId}: {FirstLine(e.Message)} (run 'harness doctor').", e);
                }
            }

            return so;
        }
        catch
        {
            so.Dispose();
            throw;
        }
    }

    internal static string FirstLine(string message)
    {
        string line = message.Split('\n', 2)[0].Trim();
        return line.Length > 300 ? line[..300] + "..." : line;
    }
}
