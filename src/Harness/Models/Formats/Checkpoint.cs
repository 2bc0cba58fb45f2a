using Microsoft.Win32.SafeHandles;

namespace Harness.Models.Formats;

/// <summary>
/// One tensor of a checkpoint file: its shape in PyTorch order (outermost first; for GGUF the
/// reverse of its ne[]), element type, and where its bytes lie.
/// </summary>
public sealed record CheckpointTensor(string Name, long[] Shape, TensorElement Element, string File, long Offset, long Bytes)
{
    public long Elements => Shape.Aggregate(1L, (a, b) => a * b);
}

/// <summary>
/// The tensors of one or more checkpoint files (a safetensors file, its shards, or a GGUF file),
/// validated when opened, read as fp32 on demand. Disposing closes every file it opened.
/// </summary>
public sealed class Checkpoint : IDisposable
{
    private readonly Dictionary<string, SafeFileHandle> _handles;

    public Checkpoint(IReadOnlyDictionary<string, CheckpointTensor> tensors, Dictionary<string, SafeFileHandle> handles)
    {
        Tensors = tensors;
        _handles = handles;
    }

    public IReadOnlyDictionary<string, CheckpointTensor> Tensors { get; }

    /// <summary>Element types that occur, for the result ("f16", "q4_K, f32").</summary>
    public IReadOnlyList<TensorElement> Elements => Tensors.Values.Select(t => t.Element).Distinct().Order().ToList();

    /// <summary>The tensor's values as fp32 (dequantized where it is quantized).</summary>
    public float[] Read(CheckpointTensor t)
    {
        var values = new float[t.Elements];
        SafeFileHandle handle = _handles[t.File];
        int blockElements = t.Element.BlockElements(), blockBytes = t.Element.BlockBytes();
        long blocksPerChunk = Math.Max(1, (1 << 22) / blockBytes);
        var buffer = new byte[blocksPerChunk * blockBytes];
        long blocks = t.Elements / blockElements;
        for (long b = 0; b < blocks; b += blocksPerChunk)
        {
            int n = (int)Math.Min(blocksPerChunk, blocks - b);
            Span<byte> chunk = buffer.AsSpan(0, n * blockBytes);
            long at = t.Offset + b * blockBytes;
            int read = 0;
            while (read < chunk.Length)
            {
                int got = RandomAccess.Read(handle, chunk[read..], at + read);
                if (got == 0)
                {
                    throw HarnessException.BadInput($"Model file '{t.File}' is truncated: tensor {t.Name} ends past the end of the file.");
                }

                read += got;
            }

            t.Element.ToFloat(chunk, values.AsSpan((int)(b * blockElements), n * blockElements));
        }

        return values;
    }

    /// <summary>The tensor's bytes as the file stores them (quantized blocks left as they are).</summary>
    public byte[] ReadBytes(CheckpointTensor t)
    {
        var bytes = new byte[t.Bytes];
        SafeFileHandle handle = _handles[t.File];
        int read = 0;
        while (read < bytes.Length)
        {
            int got = RandomAccess.Read(handle, bytes.AsSpan(read), t.Offset + read);
            if (got == 0)
            {
                throw HarnessException.BadInput($"Model file '{t.File}' is truncated: tensor {t.Name} ends past the end of the file.");
            }

            read += got;
        }

        return bytes;
    }

    public void Dispose()
    {
        foreach (SafeFileHandle h in _handles.Values)
        {
            h.Dispose();
        }

        _handles.Clear();
    }

    /// <summary>Opens a file for reading; a missing one is bad input naming it.</summary>
    internal static SafeFileHandle OpenFile(string path, string what)
    {
        try
        {
            return File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw HarnessException.BadInput($"{what} '{path}' does not exist.", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw HarnessException.BadInput($"{what} '{path}' cannot be read: {e.Message}", e);
        }
    }

    /// <summary>Checks a tensor's byte range against its element count and the file's size (a header that lies is bad input).</summary>
    internal static void CheckRange(CheckpointTensor t, long dataStart, long fileSize)
    {
        long need = t.Element.ByteCount(t.Elements);
        if (t.Shape.Any(d => d < 0) || need < 0)
        {
            throw HarnessException.BadInput($"Model file '{t.File}': tensor {t.Name} has shape [{string.Join(",", t.Shape)}], not whole "
                + $"{t.Element.Name()} blocks.");
        }

        if (t.Bytes != need)
        {
            throw HarnessException.BadInput(
                $"Model file '{t.File}': the header gives tensor {t.Name} {t.Bytes} bytes, but its shape [{string.Join(",", t.Shape)}] of "
                    + $"{t.Element.Name()} needs {need}.");
        }

        if (t.Offset < dataStart || t.Offset + t.Bytes > fileSize)
        {
            throw HarnessException.BadInput(
                $"Model file '{t.File}' is truncated or its header lies: tensor {t.Name} lies at bytes {t.Offset}..{t.Offset + t.Bytes}, "
                    + $"the file has {fileSize}.");
        }
    }

    /// <summary>Writes a file whole or not at all: into a temporary name beside it, renamed when complete.</summary>
    public static void WriteAtomically(string path, Action<Stream> write)
    {
        string tmp = path + ".tmp-" + Environment.ProcessId + "-" + Guid.NewGuid().ToString("N")[..8];
        try
        {
            using (var s = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                write(s);
                s.Flush(flushToDisk: true);
            }

            File.Move(tmp, path, overwrite: true);
        }
        catch
        {
            File.Delete(tmp);
            throw;
        }
    }
}
