using System.Text.Json;
using Harness.Backends;

namespace Harness.Models;

/// <summary>
/// Finds and reads decoder configs. A name is looked up as <c>NAME.json</c> in, in order: the
/// folder in <c>HARNESS_MODELS</c>, <c>./models</c>, the <c>models</c> folder next to the app (the
/// build copies the repository's <c>models/*.json</c> there), and the <c>models</c> folder of the
/// repository the app was built from. A path to a .json file is read as is. Adding a model is
/// adding a file.
/// </summary>
public static class ModelCatalog
{
    public static IReadOnlyList<string> SearchFolders()
    {
        var folders = new List<string>();
        if (Environment.GetEnvironmentVariable("HARNESS_MODELS") is { Length: > 0 } env)
        {
            folders.Add(System.IO.Path.GetFullPath(env));
        }

        folders.Add(System.IO.Path.GetFullPath("models"));
        folders.Add(System.IO.Path.Combine(AppContext.BaseDirectory, "models"));
        // From bin/<cfg>/<tfm>/ up to the repository root, where models/ lives beside src/.
        DirectoryInfo? dir = new DirectoryInfo(AppContext.BaseDirectory);
        for (int i = 0; i < 8 && dir is not null; i++, dir = dir.Parent)
        {
            if (Directory.Exists(System.IO.Path.Combine(dir.FullName, "models")) && Directory.Exists(System.IO.Path.Combine(dir.FullName, "src")))
            {
                folders.Add(System.IO.Path.Combine(dir.FullName, "models"));
                break;
            }
        }

        return folders.Distinct(StringComparer.Ordinal).ToList();
    }

    /// <summary>Names of every config found, for help texts and error messages.</summary>
    public static IReadOnlyList<string> KnownNames() =>
        SearchFolders().Where(Directory.Exists)
            .SelectMany(d => Directory.EnumerateFiles(d, "*.json"))
            .Select(f => System.IO.Path.GetFileNameWithoutExtension(f))
            .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();

    /// <summary>Loads and validates a config by name or path; unknown or bad configs exit 2.</summary>
    public static DecoderConfig Load(string nameOrPath)
    {
        if (string.IsNullOrWhiteSpace(nameOrPath))
        {
            throw HarnessException.BadInput("No model config given; use --model-config NAME (e.g. gpt2-124m) or a path to a .json file.");
        }

        if (Formats.ModelFiles.IsModelPath(nameOrPath))
        {
            return Formats.ModelFiles.Load(nameOrPath);
        }

        string? path = Resolve(nameOrPath);
        if (path is null)
        {
            var known = KnownNames();
            throw HarnessException.BadInput($"Unknown model config '{nameOrPath}'; known: {(known.Count == 0 ? "(none found)" : string.Join(", ", known))} (searched {string.Join(", ", SearchFolders())}).");
        }

        return Read(path);
    }

    public static DecoderConfig Read(string path)
    {
        DecoderConfig? config;
        try
        {
            using FileStream s = File.OpenRead(path);
            config = JsonSerializer.Deserialize<DecoderConfig>(s, DecoderConfig.JsonOptions);
        }
        catch (JsonException e)
        {
            throw HarnessException.BadInput($"Model config '{path}' is not valid: {e.Message}", e);
        }
        catch (IOException e)
        {
            throw HarnessException.BadInput($"Model config '{path}' cannot be read: {e.Message}", e);
        }

        if (config is null)
        {
            throw HarnessException.BadInput($"Model config '{path}' is empty.");
        }

        return (config with { Path = path }).Validate();
    }

    /// <summary>Parses a config from JSON text (tests, generated configs).</summary>
    public static DecoderConfig Parse(string json)
    {
        try
        {
            return (JsonSerializer.Deserialize<DecoderConfig>(json, DecoderConfig.JsonOptions)
                ?? throw HarnessException.BadInput("Model config JSON is empty.")).Validate();
        }
        catch (JsonException e)
        {
            throw HarnessException.BadInput($"Model config JSON is not valid: {e.Message}", e);
        }
    }

    private static string? Resolve(string nameOrPath)
    {
        if (nameOrPath.EndsWith(".json", StringComparison.OrdinalIgnoreCase) || nameOrPath.Contains('/'))
        {
            return File.Exists(nameOrPath) ? System.IO.Path.GetFullPath(nameOrPath) : null;
        }

        foreach (string folder in SearchFolders())
        {
            string candidate = System.IO.Path.Combine(folder, nameOrPath + ".json");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}
