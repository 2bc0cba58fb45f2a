using Harness.Backends;
using Harness.Metrics;
using TorchSharp;
using static TorchSharp.torch;

namespace Harness.Torch;

/// <summary>What every TorchSharp workload does first: load libtorch for the device, pick the device, set threads.</summary>
internal static class TorchSetup
{
    public static Device Prepare(BackendSpec backend, WorkloadOptions options)
    {
        string? dir = options.LibTorch;
        if (RuntimeSettings.Spin.IsSet(options.Extra) && TorchRuntime.LoadedFrom is null)
        {
            // --set spin=0: OpenMP threads sleep instead of spinning between ops, as ONNX Runtime's
            // allow_spinning=0 does. libgomp reads the variable when libtorch loads, so set it natively now.
            TorchRuntime.SetNativeEnvironment("OMP_WAIT_POLICY", RuntimeSettings.Spin.Get(options.Extra) ? "ACTIVE" : "PASSIVE");
        }

        TorchRuntime.Ensure(backend.Device, dir);
        if (options.Threads is { } t)
        {
            torch.set_num_threads(t);
        }

        return backend.Device == "cuda" ? torch.device(DeviceType.CUDA, backend.DeviceId) : torch.CPU;
    }

    public static ScalarType ScalarTypeOf(TensorDType t) => t switch
    {
        TensorDType.Float32 => ScalarType.Float32,
        TensorDType.Float16 => ScalarType.Float16,
        _ => ScalarType.BFloat16,
    };

    public static void Synchronize(Device device)
    {
        if (device.type == DeviceType.CUDA)
        {
            torch.cuda.synchronize(device);
        }
    }

    public static Dictionary<string, object?> Describe(Device device) => new()
    {
        [ConfigKeys.Libtorch] = TorchRuntime.LoadedFrom,
        [ConfigKeys.TorchDevice] = device.ToString(),
        [ConfigKeys.TorchThreads] = torch.get_num_threads(),
        // libtorch's OpenMP threads spin between ops unless this says PASSIVE (read at load time).
        [ConfigKeys.OmpWaitPolicy] = TorchRuntime.GetNativeEnvironment("OMP_WAIT_POLICY"),
    };
}
