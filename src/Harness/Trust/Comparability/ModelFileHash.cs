using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace Harness.Trust.Comparability;

/// <summary>
/// The identity of a model file for the comparability rule: its SHA-256, recorded in the result as
/// <c>config.model_sha256</c>, so that two runs of "the same" workload on different weights are told
/// apart. Hashed once per file, size and modification time in a process (a --repeat job hashes once).
/// </summary>
public static class ModelFileHash
{
    public const string ConfigKey = "model_sha256";

    private static readonly ConcurrentDictionary<(string Path, long Length, DateTime Modified), string> Known = new();

    /// <summary>Lower-case hex SHA-256 of the file; null when it cannot be read.</summary>
    public static string? Sha256(string path)
    {
        try
        {
            var info = new FileInfo(path);
            return Known.GetOrAdd((info.FullName, info.Length, info.LastWriteTimeUtc), _ =>
            {
                using FileStream stream = File.OpenRead(info.FullName);
                return Convert.ToHexStringLower(SHA256.HashData(stream));
            });
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
