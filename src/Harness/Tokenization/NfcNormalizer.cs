using System.Globalization;
using System.Text;

namespace Harness.Tokenization;

/// <summary>
/// Unicode normalization form C (UAX #15) in managed code, for tokenizers whose tokenizer.json normalizes to NFC
/// (Qwen2's): the harness runs with InvariantGlobalization, where <see cref="string.Normalize()"/> leaves text as it
/// is. Canonical decomposition (Hangul syllables algorithmically), canonical ordering by combining class, then
/// canonical composition of each starter with the characters it is not blocked from; the tables are
/// <see cref="NfcData"/> (Unicode <see cref="NfcData.UnicodeVersion"/>).
/// </summary>
public static class NfcNormalizer
{
    private const int SBase = 0xAC00, LBase = 0x1100, VBase = 0x1161, TBase = 0x11A7;
    private const int LCount = 19, VCount = 21, TCount = 28, NCount = VCount * TCount, SCount = LCount * NCount;

    private static readonly Lazy<Tables> Data = new(Load);

    /// <summary>The text in NFC: the same string where it is already (every character below U+0300 is).</summary>
    public static string Normalize(string text)
    {
        int first = 0;
        while (first < text.Length && text[first] < 0x300)
        {
            first++;
        }

        if (first == text.Length)
        {
            return text;
        }

        Tables t = Data.Value;
        var points = new List<int>(text.Length);
        foreach (Rune r in text.EnumerateRunes())
        {
            Decompose(r.Value, points, t);
        }

        // Canonical ordering: each combining mark moves before the marks of a higher class (a stable sort of each run).
        for (int k = 1; k < points.Count; k++)
        {
            int c = t.Class(points[k]);
            for (int j = k; c != 0 && j > 0 && t.Class(points[j - 1]) > c; j--)
            {
                (points[j - 1], points[j]) = (points[j], points[j - 1]);
            }
        }

        var composed = new List<int>(points.Count);
        int starter = -1;
        foreach (int p in points)
        {
            int c = t.Class(p);
            if (starter >= 0)
            {
                bool adjacent = composed.Count - 1 == starter;
                int last = t.Class(composed[^1]);
                if ((adjacent || (last != 0 && last < c)) && Compose(composed[starter], p, t) is int both)
                {
                    composed[starter] = both;
                    continue;
                }
            }

            if (c == 0)
            {
                starter = composed.Count;
            }

            composed.Add(p);
        }

        var sb = new StringBuilder(text.Length);
        foreach (int p in composed)
        {
            sb.Append(new Rune(p).ToString());
        }

        string result = sb.ToString();
        return result == text ? text : result;
    }

    private static void Decompose(int p, List<int> into, Tables t)
    {
        if (p is >= SBase and < SBase + SCount)
        {
            int s = p - SBase;
            into.Add(LBase + (s / NCount));
            into.Add(VBase + (s % NCount / TCount));
            if (s % TCount != 0)
            {
                into.Add(TBase + (s % TCount));
            }

            return;
        }

        if (t.Decompositions.TryGetValue(p, out int[]? parts))
        {
            foreach (int part in parts)
            {
                Decompose(part, into, t);
            }

            return;
        }

        into.Add(p);
    }

    private static int? Compose(int a, int b, Tables t)
    {
        if (a is >= LBase and < LBase + LCount && b is >= VBase and < VBase + VCount)
        {
            return SBase + ((((a - LBase) * VCount) + (b - VBase)) * TCount);
        }

        if (a is >= SBase and < SBase + SCount && (a - SBase) % TCount == 0 && b is > TBase and < TBase + TCount)
        {
            return a + (b - TBase);
        }

        return t.Compositions.TryGetValue(((long)a << 21) | (uint)b, out int c) ? c : null;
    }

    private static Tables Load()
    {
        var classes = new Dictionary<int, byte>();
        var decompositions = new Dictionary<int, int[]>();
        var compositions = new Dictionary<long, int>();
        static int Hex(string s) => int.Parse(s, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        foreach (string line in NfcData.Table.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            string[] f = line.Split(' ');
            if (f[0] == "c")
            {
                for (int p = Hex(f[1]); p <= Hex(f[2]); p++)
                {
                    classes[p] = byte.Parse(f[3], CultureInfo.InvariantCulture);
                }

                continue;
            }

            int[] parts = [.. f.Skip(2).Select(Hex)];
            int point = Hex(f[1]);
            decompositions[point] = parts;
            if (f[0] == "d")
            {
                compositions[((long)parts[0] << 21) | (uint)parts[1]] = point;
            }
        }

        return new Tables(classes, decompositions, compositions);
    }

    private sealed record Tables(Dictionary<int, byte> Classes, Dictionary<int, int[]> Decompositions, Dictionary<long, int> Compositions)
    {
        public int Class(int p) => Classes.TryGetValue(p, out byte c) ? c : 0;
    }
}
