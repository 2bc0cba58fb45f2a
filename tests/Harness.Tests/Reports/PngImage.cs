using System.Buffers.Binary;
using System.IO.Compression;

namespace Harness.Tests.Reports;

/// <summary>
/// A minimal PNG decoder (8-bit grey, RGB or RGBA, not interlaced: what Chromium writes), enough to
/// check a screenshot is not blank without an imaging package: zlib through System.IO.Compression,
/// then the five scanline filters.
/// </summary>
internal sealed class PngImage
{
    private PngImage(int width, int height, uint[] pixels)
    {
        Width = width;
        Height = height;
        Pixels = pixels;
    }

    public int Width { get; }

    public int Height { get; }

    /// <summary>0xAARRGGBB per pixel, row by row.</summary>
    public uint[] Pixels { get; }

    public int DistinctColors => Pixels.Distinct().Count();

    /// <summary>Share of pixels that differ from the most common colour (the background).</summary>
    public double NonBackgroundFraction
    {
        get
        {
            uint background = Pixels.GroupBy(p => p).MaxBy(g => g.Count())!.Key;
            return Pixels.Count(p => p != background) / (double)Pixels.Length;
        }
    }

    public static PngImage Decode(byte[] png)
    {
        ReadOnlySpan<byte> signature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];
        if (!png.AsSpan(0, 8).SequenceEqual(signature))
        {
            throw new InvalidDataException("not a PNG");
        }

        int width = 0, height = 0, channels = 0;
        using var idat = new MemoryStream();
        for (int pos = 8; pos < png.Length;)
        {
            int length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(pos));
            string type = System.Text.Encoding.ASCII.GetString(png, pos + 4, 4);
            var data = png.AsSpan(pos + 8, length);
            if (type == "IHDR")
            {
                width = BinaryPrimitives.ReadInt32BigEndian(data);
                height = BinaryPrimitives.ReadInt32BigEndian(data[4..]);
                (int depth, int colorType, int interlace) = (data[8], data[9], data[12]);
                channels = colorType switch { 0 => 1, 2 => 3, 4 => 2, 6 => 4, _ => throw new InvalidDataException($"colour type {colorType} not supported") };
                if (depth != 8 || interlace != 0)
                {
                    throw new InvalidDataException($"bit depth {depth}, interlace {interlace} not supported");
                }
            }
            else if (type == "IDAT")
            {
                idat.Write(data);
            }
            else if (type == "IEND")
            {
                break;
            }

            pos += 12 + length;
        }

        idat.Position = 0;
        using var z = new ZLibStream(idat, CompressionMode.Decompress);
        using var raw = new MemoryStream();
        z.CopyTo(raw);
        byte[] bytes = raw.ToArray();
        int stride = width * channels;
        var previous = new byte[stride];
        var current = new byte[stride];
        var pixels = new uint[width * height];
        for (int y = 0; y < height; y++)
        {
            int rowStart = y * (stride + 1);
            byte filter = bytes[rowStart];
            for (int i = 0; i < stride; i++)
            {
                int a = i >= channels ? current[i - channels] : 0;
                int b = previous[i];
                int c = i >= channels ? previous[i - channels] : 0;
                int x = bytes[rowStart + 1 + i];
                current[i] = (byte)(filter switch
                {
                    0 => x,
                    1 => x + a,
                    2 => x + b,
                    3 => x + ((a + b) >> 1),
                    4 => x + Paeth(a, b, c),
                    _ => throw new InvalidDataException($"filter {filter}"),
                });
            }

            for (int px = 0; px < width; px++)
            {
                int o = px * channels;
                (byte r, byte g, byte bl, byte al) = channels switch
                {
                    1 => (current[o], current[o], current[o], (byte)255),
                    2 => (current[o], current[o], current[o], current[o + 1]),
                    3 => (current[o], current[o + 1], current[o + 2], (byte)255),
                    _ => (current[o], current[o + 1], current[o + 2], current[o + 3]),
                };
                pixels[y * width + px] = (uint)(al << 24 | r << 16 | g << 8 | bl);
            }

            (previous, current) = (current, previous);
        }

        return new PngImage(width, height, pixels);
    }

    private static int Paeth(int a, int b, int c)
    {
        int p = a + b - c;
        int pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }
}
