using System.Collections;
using System.Reflection;
using System.Runtime.InteropServices;

namespace Harness.Torch;

/// <summary>
/// Finds the TorchSharp compat that scripts/torch-compat.sh prepares on hosts whose libstdc++ lacks
/// GLIBCXX_3.4.32 (Debian 12): a copy of the dotnet root whose muxer loads Debian 13's libstdc++.
/// A framework-dependent harness (the .NET tool, a clone's build) started by an apphost re-executes
/// itself through that muxer before anything else, so torch:* loads wherever the compat exists.
/// Searched in order: <c>HARNESS_TORCH_COMPAT_DIR</c>, the clone's <c>.tools/torch-compat</c> (when
/// the harness runs from a clone's build), <c>${XDG_CACHE_HOME:-~/.cache}/harness/torch-compat</c>
/// (where <c>./run.sh install</c> prepares it).
/// </summary>
public static class TorchCompat
{
    public const string DirVariable = "HARNESS_TORCH_COMPAT_DIR";

    /// <summary>Set in the re-executed process: it never re-executes again.</summary>
    public const string ActiveVariable = "HARNESS_TORCH_COMPAT_ACTIVE";

    /// <summary>A compat folder and how it was found ("HARNESS_TORCH_COMPAT_DIR", "the clone", "the user cache").</summary>
    public sealed record Location(string Dir, string FoundBy)
    {
        public string Muxer => Path.Combine(Dir, "dotnet", "dotnet");

        public string LibStdCxx => Path.Combine(Dir, "root", "usr", "lib", "x86_64-linux-gnu", "libstdc++.so.6");

        public bool Complete => File.Exists(Muxer) && File.Exists(LibStdCxx);
    }

    /// <summary>Every place searched, in order, whether it holds a compat or not.</summary>
    public static IReadOnlyList<Location> Candidates(string baseDirectory, Func<string, string?> env)
    {
        var list = new List<Location>();
        if (env(DirVariable) is { Length: > 0 } dir)
        {
            list.Add(new(Path.GetFullPath(dir), DirVariable));
        }

        if (Hardware.AppInstall.CloneRoot(baseDirectory) is { } repo)
        {
            list.Add(new(Path.Combine(repo, ".tools", "torch-compat"), "the clone"));
        }

        string? cache = env("XDG_CACHE_HOME") is { Length: > 0 } xdg ? xdg
            : env("HOME") is { Length: > 0 } home ? Path.Combine(home, ".cache") : null;
        if (cache is not null)
        {
            list.Add(new(Path.Combine(cache, "harness", "torch-compat"), "the user cache"));
        }

        return list;
    }

    /// <summary>The first complete compat among <see cref="Candidates"/>, or null.</summary>
    public static Location? Find(string baseDirectory, Func<string, string?> env) =>
        Candidates(baseDirectory, env).FirstOrDefault(l => l.Complete);

    /// <summary>What to do when this process's libstdc++ is too old for TorchSharp: one sentence.</summary>
    public static string Advice() => Hardware.AppInstall.SelfContained
        ? "a self-contained build cannot switch to the compat libstdc++: run torch:* from the .NET tool (./run.sh install), "
          + "the container image, or a host with GCC 13's libstdc++ (Debian 13, Ubuntu 24.04)"
        : Find(AppContext.BaseDirectory, Environment.GetEnvironmentVariable) is { } found
            ? $"the compat in {found.Dir} (found by {found.FoundBy}) is not in use: start harness itself (the tool or ./run.sh), "
              + $"or DOTNET_ROOT={Path.GetDirectoryName(found.Muxer)} {found.Muxer} harness.dll ..."
            : $"prepare the compat: ./run.sh (for the clone) or ./run.sh install (for the tool), "
              + $"or {DirVariable}=DIR scripts/torch-compat.sh (see README, TorchSharp on Debian 12)";

    /// <summary>
    /// For <c>harness doctor</c>: whether the compat is needed, where it was found and whether this process
    /// runs under it.
    /// </summary>
    public static Harness.Backends.DoctorCheck Check()
    {
        string libstdcxx = Hardware.LoadedLibraries.PathOf("libstdc++.so") ?? "the system libstdc++";
        string? active = Environment.GetEnvironmentVariable(ActiveVariable);
        if (TorchRuntime.LibStdCxxIsRecentEnough())
        {
            return new("torch-compat", true, active is { Length: > 0 }
                ? $"in use: {active} (libstdc++ {libstdcxx})"
                : Candidates(AppContext.BaseDirectory, Environment.GetEnvironmentVariable)
                    .FirstOrDefault(c => libstdcxx.StartsWith(c.Dir + "/", StringComparison.Ordinal)) is { } c
                    ? $"in use: {c.Dir} (found by {c.FoundBy}; libstdc++ {libstdcxx})"
                    : $"not needed: {libstdcxx} has GLIBCXX_3.4.32");
        }

        string searched = string.Join(", ", Candidates(AppContext.BaseDirectory, Environment.GetEnvironmentVariable).Select(c => c.Dir));
        return new("torch-compat", false, $"needed ({libstdcxx} lacks GLIBCXX_3.4.32; searched {searched}): {Advice()}.");
    }

    /// <summary>
    /// Replaces this process (execve, same PID, so signals reach the harness) with the harness run by the
    /// compat muxer when TorchSharp needs it and one is found; returns where it does not apply or exec fails.
    /// </summary>
    public static void ReexecIfNeeded(string[] args)
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64
            || Environment.GetEnvironmentVariable(ActiveVariable) is { Length: > 0 }
            || TorchRuntime.LibStdCxxIsRecentEnough() || Hardware.AppInstall.SelfContained)
        {
            return;
        }

        string? dll = Assembly.GetEntryAssembly()?.Location;
        if (dll is not { Length: > 0 } || Find(AppContext.BaseDirectory, Environment.GetEnvironmentVariable) is not { } compat)
        {
            return;
        }

        string[] argv = [compat.Muxer, "exec", dll, .. args];
        var env = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (DictionaryEntry e in Environment.GetEnvironmentVariables())
        {
            env[(string)e.Key] = (string?)e.Value ?? "";
        }

        env["DOTNET_ROOT"] = Path.GetDirectoryName(compat.Muxer)!;
        env[ActiveVariable] = $"{compat.Dir} (found by {compat.FoundBy})";
        Exec(compat.Muxer, argv, env.Select(kv => kv.Key + "=" + kv.Value).ToArray());
    }

    private static void Exec(string path, string[] argv, string[] envp)
    {
        IntPtr[] a = ToNative(argv);
        IntPtr[] e = ToNative(envp);
        try
        {
            _ = CompatNativeMethods.execve(path, a, e);
        }
        finally
        {
            foreach (IntPtr p in a.Concat(e))
            {
                Marshal.FreeCoTaskMem(p);
            }
        }
    }

    /// <summary>A NULL-terminated array of UTF-8 C strings.</summary>
    private static IntPtr[] ToNative(string[] strings)
    {
        var native = new IntPtr[strings.Length + 1];
        for (int i = 0; i < strings.Length; i++)
        {
            native[i] = Marshal.StringToCoTaskMemUTF8(strings[i]);
        }

        return native;
    }
}

internal static partial class CompatNativeMethods
{
    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    internal static partial int execve(string path, IntPtr[] argv, IntPtr[] envp);
}
