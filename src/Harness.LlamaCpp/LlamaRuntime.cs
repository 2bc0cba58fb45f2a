using System.Collections.Concurrent;
using System.Reflection;
using System.Runtime.InteropServices;
using Harness.Hardware;
using LLama.Exceptions;
using LLama.Native;

namespace Harness.LlamaCpp;

/// <summary>
/// LLamaSharp's bundled llama.cpp, loaded once per process: LLamaSharp picks the build for this CPU
/// (runtimes/linux-x64/native/avx512, avx2, avx or noavx under the app's folder, from what .NET's
/// intrinsics report, falling back to the next lower one that loads) and loads ggml-base, ggml-cpu
/// and ggml beside it. llama.cpp's own log goes to a short buffer, not to the terminal: the lines
/// it kept are quoted when something fails.
/// </summary>
internal static class LlamaRuntime
{
    /// <summary>The llama.cpp commit LLamaSharp 0.30.0 bundles (its package's release notes).</summary>
    public const string BundledCommit = "c0c7e147e7efa6c5858754b47259ba4880f8a906";

    private const int KeptLines = 24;

    private const string NoOpenMp = "LLamaSharp's llama.cpp build links OpenMP's libgomp.so.1, which this system lacks: install it "
        + "(Debian and Ubuntu: apt-get install libgomp1).";

    /// <summary>The CPU builds LLamaSharp.Backend.Cpu brings for linux-x64, the best first.</summary>
    private static readonly string[] Variants = ["avx512", "avx2", "avx", "noavx"];

    private static readonly Lock Gate = new();
    private static readonly ConcurrentQueue<string> Recent = new();
    private static bool _tried;
    private static string? _failure;

    /// <summary>LLamaSharp's package version (its assembly says 0.0.0: the build records the package's), loading no native code.</summary>
    public static string? PackageVersion { get; } = BuiltWith("LLamaSharp");

    /// <summary>The version of LLamaSharp.Backend.Cpu, the package that brings the native llama.cpp builds.</summary>
    public static string? BackendPackageVersion { get; } = BuiltWith("LLamaSharp.Backend.Cpu");

    /// <summary>Whether this process has loaded llama.cpp (after which OpenMP's settings are fixed).</summary>
    public static bool Loaded
    {
        get
        {
            lock (Gate)
            {
                return _tried && _failure is null;
            }
        }
    }

    /// <summary>
    /// Without loading anything (libgomp reads its settings when it loads): whether llama.cpp's files
    /// are in the app's folder and OpenMP's libgomp.so.1 is on the system; null when both are, else why not.
    /// </summary>
    public static string? CheckFiles()
    {
        string native = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native");
        if (!Variants.Any(v => File.Exists(Path.Combine(native, v, "libllama.so"))))
        {
            return $"LLamaSharp.Backend.Cpu's llama.cpp builds are not in {native} ({string.Join(", ", Variants)}); "
                + "rebuild the harness (dotnet build restores and copies them).";
        }

        string[] dirs = [.. (Environment.GetEnvironmentVariable("LD_LIBRARY_PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries),
            "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib", "/usr/local/lib"];
        return dirs.Any(d => File.Exists(Path.Combine(d, "libgomp.so.1"))) ? null : NoOpenMp;
    }

    /// <summary>
    /// Before llama.cpp loads: OpenMP's wait policy (<c>--set spin=0</c>: PASSIVE, llama.cpp's threads sleep at
    /// barriers and between passes instead of spinning, as ONNX Runtime's allow_spinning=0), set in the native
    /// environment libgomp reads when it loads. Returns false when llama.cpp is already loaded (it keeps the
    /// policy it loaded with).
    /// </summary>
    public static bool SetWaitPolicy(bool spin)
    {
        lock (Gate)
        {
            if (_tried)
            {
                return false;
            }

            if (setenv("OMP_WAIT_POLICY", spin ? "ACTIVE" : "PASSIVE", 1) != 0)
            {
                throw new InvalidOperationException("setenv(OMP_WAIT_POLICY) failed.");
            }

            return true;
        }
    }

    /// <summary>OMP_WAIT_POLICY as libgomp read it from the native environment; null when unset.</summary>
    public static string? WaitPolicy => Marshal.PtrToStringUTF8(getenv("OMP_WAIT_POLICY"));

    /// <summary>Loads the native library; returns null when loaded, else why not (one sentence).</summary>
    public static string? TryEnsure()
    {
        lock (Gate)
        {
            if (_tried)
            {
                return _failure;
            }

            _tried = true;
            if (!NativeLibrary.TryLoad("libgomp.so.1", out nint gomp))
            {
                _failure = NoOpenMp;
                return _failure;
            }

            NativeLibrary.Free(gomp);
            try
            {
                NativeLibraryConfig.All.WithLogCallback(Keep);
                NativeApi.llama_empty_call();
                NativeLogConfig.llama_log_set(Keep);
            }
            catch (Exception e) when (e is TypeInitializationException or DllNotFoundException or RuntimeError
                or EntryPointNotFoundException or InvalidOperationException)
            {
                Exception inner = e is TypeInitializationException { InnerException: { } i } ? i : e;
                _failure = $"LLamaSharp {PackageVersion}'s native llama.cpp did not load ({inner.Message.Trim()}); it is looked for under "
                    + $"runtimes/linux-x64/native/ in {AppContext.BaseDirectory} (LLamaSharp.Backend.Cpu's files){RecentLog()}";
            }

            return _failure;
        }
    }

    /// <summary>Loads the native library or throws one sentence (exit 2).</summary>
    public static void Ensure()
    {
        if (TryEnsure() is { } failure)
        {
            throw HarnessException.BadInput(failure);
        }
    }

    /// <summary>The libllama.so this process loaded (its folder names the CPU variant: avx512, avx2...); null before loading.</summary>
    public static string? LibraryPath => LoadedLibraries.PathOf("libllama.so");

    /// <summary>The CPU variant LLamaSharp loaded: the name of libllama.so's folder (avx512, avx2, avx, noavx).</summary>
    public static string? Variant => LibraryPath is { } p ? Path.GetFileName(Path.GetDirectoryName(p)) : null;

    /// <summary>
    /// ggml's version and commit as the loaded libggml-base.so reports them (<c>ggml_version</c>,
    /// <c>ggml_commit</c>), with the llama.cpp commit of the package's release notes.
    /// </summary>
    public static string Version()
    {
        string ggml = "ggml version unknown";
        if (LoadedLibraries.PathOf("libggml-base.so") is { } path && NativeLibrary.TryLoad(path, out nint handle))
        {
            try
            {
                string? version = Call(handle, "ggml_version"), commit = Call(handle, "ggml_commit");
                ggml = $"ggml {version ?? "?"} (commit {commit ?? "?"})";
            }
            finally
            {
                NativeLibrary.Free(handle);
            }
        }

        return $"llama.cpp {BundledCommit[..10]} as bundled by LLamaSharp {PackageVersion}, {ggml}";
    }

    /// <summary>llama.cpp's <c>llama_print_system_info</c>: the CPU features its build uses.</summary>
    public static string SystemInfo()
    {
        nint text = NativeApi.llama_print_system_info();
        return (Marshal.PtrToStringUTF8(text) ?? "").Trim();
    }

    /// <summary>Forgets the lines kept so far (before an operation whose failure should quote only its own).</summary>
    public static void ForgetLog() => Recent.Clear();

    /// <summary>The warnings and errors llama.cpp logged last, as a clause for an error message.</summary>
    public static string RecentLog()
    {
        string[] lines = [.. Recent];
        return lines.Length == 0 ? "." : $"; llama.cpp said: {string.Join(" | ", lines)}.";
    }

    /// <summary>The version of package <paramref name="package"/> this assembly was built with (its AssemblyMetadata).</summary>
    private static string? BuiltWith(string package) => typeof(LlamaRuntime).Assembly
        .GetCustomAttributes(typeof(AssemblyMetadataAttribute), false)
        .Cast<AssemblyMetadataAttribute>()
        .FirstOrDefault(a => a.Key == package)?.Value;

    private static unsafe string? Call(nint library, string name) =>
        NativeLibrary.TryGetExport(library, name, out nint f) ? Marshal.PtrToStringUTF8(((delegate* unmanaged<nint>)f)()) : null;

    [DllImport("libc", EntryPoint = "setenv")]
    private static extern int setenv(
        [MarshalAs(UnmanagedType.LPUTF8Str)] string name, [MarshalAs(UnmanagedType.LPUTF8Str)] string value, int overwrite);

    [DllImport("libc", EntryPoint = "getenv")]
    private static extern nint getenv([MarshalAs(UnmanagedType.LPUTF8Str)] string name);

    private static void Keep(LLamaLogLevel level, string message)
    {
        if (level is not (LLamaLogLevel.Warning or LLamaLogLevel.Error) || string.IsNullOrWhiteSpace(message))
        {
            return;
        }

        Recent.Enqueue(message.Trim());
        while (Recent.Count > KeptLines && Recent.TryDequeue(out _))
        {
        }
    }
}
