using System.Runtime.InteropServices;
using TorchSharp;

namespace Harness.Torch;

/// <summary>
/// Loads libtorch for TorchSharp once per process, before any torch call: from a folder given by
/// <c>--libtorch DIR</c> or <c>TORCH_LIB_DIR</c> (e.g. a PyTorch install's torch/lib, which brings
/// CUDA), else the CPU libtorch packaged with the harness. Every failure becomes one sentence that
/// says what is missing and what to run.
/// </summary>
public static class TorchRuntime
{
    /// <summary>Preload order of a libtorch folder: the CUDA pieces are skipped where absent (CPU builds).</summary>
    public static readonly string[] PreloadOrder = ["libc10.so", "libtorch_cpu.so", "libc10_cuda.so", "libtorch_cuda.so", "libtorch.so"];

    public const string LibDirVariable = "TORCH_LIB_DIR";

    private const string NeededGlibcxx = "GLIBCXX_3.4.32";
    private static readonly object Gate = new();
    private static string? _loadedFrom;
    private static bool _cpuReady;
    private static bool _cudaReady;

    /// <summary>Where libtorch was loaded from: a folder, or "packaged" for the CPU libtorch of the NuGet package.</summary>
    public static string? LoadedFrom => _loadedFrom;

    /// <summary>Makes TorchSharp usable on <paramref name="device"/> ("cpu" or "cuda") or throws a one-sentence <see cref="HarnessException"/>.</summary>
    public static void Ensure(string device, string? libtorchDir)
    {
        lock (Gate)
        {
            string? dir = libtorchDir is { Length: > 0 } ? libtorchDir : Environment.GetEnvironmentVariable(LibDirVariable) is { Length: > 0 } env ? env : null;
            if (dir is not null && !Directory.Exists(dir))
            {
                throw HarnessException.BadInput($"The libtorch folder '{dir}' (--libtorch or {LibDirVariable}) does not exist; point it at a libtorch 2.10-compatible lib folder, e.g. a PyTorch install's torch/lib.");
            }

            if (_loadedFrom is null)
            {
                if (dir is not null)
                {
                    Preload(dir);
                }

                _loadedFrom = dir ?? "packaged";
            }
            else if (dir is not null && _loadedFrom != dir)
            {
                throw HarnessException.BadInput($"libtorch was already loaded from {_loadedFrom} in this process; it cannot switch to {dir}.");
            }

            if (!_cpuReady)
            {
                InitializeCpu();
                _cpuReady = true;
            }

            if (device == "cuda" && !_cudaReady)
            {
                InitializeCuda(dir);
                _cudaReady = true;
            }
        }
    }

    /// <summary>Like <see cref="Ensure"/>, but returns the sentence instead of throwing (for doctor and test gates).</summary>
    public static string? TryEnsure(string device, string? libtorchDir)
    {
        try
        {
            Ensure(device, libtorchDir);
            return null;
        }
        catch (HarnessException e)
        {
            return e.Message;
        }
    }

    /// <summary>Whether this process's libstdc++ (or the system's, before one is loaded) has the symbol TorchSharp 0.107 needs.</summary>
    public static bool LibStdCxxIsRecentEnough()
    {
        string? loaded = Hardware.LoadedLibraries.PathOf("libstdc++.so");
        string path = loaded ?? "/usr/lib/x86_64-linux-gnu/libstdc++.so.6";
        try
        {
            return !File.Exists(path) || ContainsAscii(File.ReadAllBytes(path), NeededGlibcxx);
        }
        catch (IOException)
        {
            return true;
        }
    }

    /// <summary>setenv(3): native code (libgomp) reads the C environment, which .NET's Environment does not change.</summary>
    public static void SetNativeEnvironment(string name, string value)
    {
        if (NativeMethods.setenv(name, value, 1) != 0)
        {
            throw new InvalidOperationException($"setenv({name}) failed.");
        }
    }

    public static string? GetNativeEnvironment(string name) => Marshal.PtrToStringUTF8(NativeMethods.getenv(name));

    private static void Preload(string dir)
    {
        if (!Directory.Exists(dir))
        {
            throw HarnessException.BadInput($"The libtorch folder '{dir}' (--libtorch or {LibDirVariable}) does not exist; point it at a libtorch 2.10-compatible lib folder, e.g. a PyTorch install's torch/lib.");
        }

        foreach (string name in PreloadOrder)
        {
            string path = Path.Combine(dir, name);
            if (!File.Exists(path))
            {
                if (name.Contains("cuda", StringComparison.Ordinal))
                {
                    continue;
                }

                throw HarnessException.BadInput($"The libtorch folder '{dir}' has no {name}; point --libtorch or {LibDirVariable} at a folder holding libc10.so, libtorch_cpu.so and libtorch.so (a PyTorch install's torch/lib).");
            }

            try
            {
                NativeLibrary.Load(path);
            }
            catch (Exception e) when (e is DllNotFoundException or BadImageFormatException)
            {
                throw HarnessException.BadInput($"{path} did not load ({FirstLine(e.Message)}); {Hint()}", e);
            }
        }
    }

    private static void InitializeCpu()
    {
        if (!LibStdCxxIsRecentEnough())
        {
            // Fail before TorchSharp tries: its own loader prints a long trace and a misleading reason.
            throw HarnessException.BadInput(Hint());
        }

        try
        {
            torch.InitializeDeviceType(DeviceType.CPU);
        }
        catch (Exception e)
        {
            throw HarnessException.BadInput($"TorchSharp 0.107 could not load libtorch ({FirstLine(e.Message)}): {Hint()}", e);
        }
    }

    private static void InitializeCuda(string? dir)
    {
        bool ok;
        try
        {
            ok = torch.TryInitializeDeviceType(DeviceType.CUDA) && torch.cuda.is_available();
        }
        catch (Exception)
        {
            ok = false;
        }

        if (!ok)
        {
            throw HarnessException.BadInput(dir is null
                ? $"TorchSharp has no CUDA here: the packaged libtorch is CPU-only; give --libtorch DIR or {LibDirVariable} pointing at a CUDA libtorch (a PyTorch install's torch/lib) on a machine with an NVIDIA GPU."
                : $"TorchSharp loaded libtorch from {dir} but CUDA is not available: check that it is a CUDA build, that its CUDA libraries are on LD_LIBRARY_PATH, and that a GPU is visible (nvidia-smi).");
        }
    }

    private static string Hint() => LibStdCxxIsRecentEnough()
        ? $"check that libtorch 2.10 (package libtorch-cpu-linux-x64, restored by dotnet build) or the folder in --libtorch / {LibDirVariable} is complete and matches TorchSharp 0.107."
        : $"TorchSharp 0.107 needs {NeededGlibcxx} (GCC 13's libstdc++) but this process runs with an older libstdc++: {TorchCompat.Advice()}";

    private static string FirstLine(string s)
    {
        string line = s.Split('\n', 2)[0].Trim();
        return line.Length > 200 ? line[..200] + "..." : line;
    }

    private static bool ContainsAscii(byte[] haystack, string needle)
    {
        byte[] n = System.Text.Encoding.ASCII.GetBytes(needle);
        return haystack.AsSpan().IndexOf(n) >= 0;
    }
}

internal static partial class NativeMethods
{
    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int setenv(string name, string value, int overwrite);

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial IntPtr getenv(string name);
}
