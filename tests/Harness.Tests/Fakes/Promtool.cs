using System.Diagnostics;

namespace Harness.Tests.Fakes;

/// <summary>Prometheus's own linter on an exposition (<c>promtool check metrics</c>); tests that call it need the binary.</summary>
public static class Promtool
{
    /// <summary>promtool's exit code and what it printed: 0 and nothing for a clean exposition.</summary>
    public static (int Code, string Output) CheckMetrics(string exposition)
    {
        var info = new ProcessStartInfo("promtool", "check metrics")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using Process p = Process.Start(info)!;
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        p.StandardInput.Write(exposition);
        p.StandardInput.Close();
        p.WaitForExit(30_000);
        return (p.ExitCode, stdout.Result + stderr.Result);
    }
}
