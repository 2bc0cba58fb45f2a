using Microsoft.ML.OnnxRuntime;

namespace Harness.Onnx.Cuda;

/// <summary>
/// Copies host tensors into device tensors of the same size. ONNX Runtime's own CopyTensors needs a
/// data transfer registered with the environment, which the CUDA provider only does when it is
/// registered as a plugin library; when it is missing, the copy goes through the CUDA runtime.
/// </summary>
internal static class DeviceCopy
{
    public static void ToDevice(IReadOnlyList<OrtValue> host, IReadOnlyList<OrtValue> device)
    {
        if (host.Count != device.Count)
        {
            throw new ArgumentException("As many device tensors as host tensors are needed.", nameof(device));
        }

        try
        {
            OrtEnv.Instance().CopyTensors(host, device, null);
            return;
        }
        catch (OnnxRuntimeException)
        {
            // No data transfer registered for this device: copy below.
        }

        unsafe
        {
            for (int i = 0; i < host.Count; i++)
            {
                // Only addresses are taken from the device span; it is never read on the host.
                Span<byte> h = host[i].GetTensorMutableRawData();
                Span<byte> d = device[i].GetTensorMutableRawData();
                if (h.Length != d.Length)
                {
                    throw new ArgumentException($"Tensor {i}: {h.Length} host bytes, {d.Length} device bytes.", nameof(device));
                }

                fixed (byte* hp = h)
                fixed (byte* dp = d)
                {
                    CudaRuntime.CopyToDevice((IntPtr)dp, (IntPtr)hp, h.Length);
                }
            }
        }
    }
}
