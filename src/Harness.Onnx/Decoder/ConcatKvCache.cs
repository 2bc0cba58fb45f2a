using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Harness.Onnx.Decoder;

/// <summary>
/// The KV cache of <see cref="ConcatDecoder"/>, for graphs whose present is the past with the new
/// keys and values concatenated (Optimum's layout). The batch's rows share one timeline of
/// <see cref="Timeline"/> positions, [rows, kv_heads, timeline, head_dim] per layer, dense; each row
/// marks its own positions in a mask (the graph's attention_mask). Two buffers per tensor: a step
/// reads the past from one and has ONNX Runtime write the present (timeline + 1) into the other,
/// which then becomes the past, so a decode step copies nothing on the managed side. A decode step
/// puts every row's new token at the end of the timeline; a row that joins shorter than the
/// timeline leaves a masked gap. When the buffers fill, the rows are first packed (each row's
/// positions moved to the front, gaps dropped: attention does not depend on where a key sits in
/// the timeline, only on the mask), then grown. Host memory: on CUDA, ONNX Runtime copies the
/// bound past in and the present out each step.
/// </summary>
internal sealed class ConcatKvCache : IDisposable
{
    private readonly int _kvHeads;
    private readonly long _tokenBytes;
    private readonly IntPtr[] _past;
    private readonly IntPtr[] _present;
    private readonly byte[][] _mask;
    private readonly int[] _valid;
    private readonly List<(int Start, int Length)>[] _runs;
    private readonly IntPtr _empty;
    private long _capacity;

    public ConcatKvCache(int slots, int layers, int kvHeads, int headDim, int elementBytes, TensorElementType type)
    {
        _kvHeads = kvHeads;
        HeadDim = headDim;
        _tokenBytes = (long)headDim * elementBytes;
        ElementType = type;
        _past = new IntPtr[2 * layers];
        _present = new IntPtr[2 * layers];
        _mask = new byte[slots][];
        _valid = new int[slots];
        _runs = new List<(int, int)>[slots];
        for (int r = 0; r < slots; r++)
        {
            _mask[r] = [];
            _runs[r] = [];
        }

        _empty = Allocate(64);
    }

    public int HeadDim { get; }

    public TensorElementType ElementType { get; }

    /// <summary>Rows held now (the live rows; a row past them is stale).</summary>
    public int Rows { get; private set; }

    /// <summary>Positions of the shared timeline (the past's length).</summary>
    public int Timeline { get; private set; }

    /// <summary>Row-positions (rows x timeline) each buffer holds.</summary>
    public long Capacity => _capacity;

    /// <summary>The row's tokens in the cache.</summary>
    public int Valid(int row) => _valid[row];

    /// <summary>Makes the cache hold <paramref name="rows"/> x <paramref name="tokens"/> (packed first, never less).</summary>
    public void Resize(int live, long rows, int tokens)
    {
        Rows = live;
        Pack();
        Reallocate(Math.Max(rows * tokens, (long)Rows * (Timeline + 1)));
    }

    /// <summary>
    /// Before a decode step over <paramref name="rows"/> rows: drops the rows after them, and makes room
    /// for the step's present (timeline + 1), packing the rows first.
    /// </summary>
    public void BeginDecode(int rows)
    {
        Rows = rows;
        long need = (long)rows * (Timeline + 1);
        if (need > _capacity)
        {
            Pack();
            need = (long)rows * (Timeline + 1);
            if (need > _capacity)
            {
                Reallocate(Math.Max(need, _capacity + (_capacity / 2)));
            }
        }
    }

    /// <summary>A full row decodes at its last position again: its last token leaves the mask.</summary>
    public void DropLast(int row)
    {
        byte[] m = _mask[row];
        for (int t = Timeline - 1; t >= 0; t--)
        {
            if (m[t] != 0)
            {
                m[t] = 0;
                _valid[row]--;
                return;
            }
        }
    }

    /// <summary>Row <paramref name="row"/>'s attention mask of a decode step: its positions, then 1 for the new token.</summary>
    public void WriteDecodeMask(int row, Span<long> mask)
    {
        ReadOnlySpan<byte> m = _mask[row].AsSpan(0, Timeline);
        for (int t = 0; t < m.Length; t++)
        {
            mask[t] = m[t];
        }

        mask[Timeline] = 1;
    }

    /// <summary>The past of a layer's K (<paramref name="value"/> false) or V: [rows, kv_heads, timeline, head_dim].</summary>
    public OrtValue Past(int layer, bool value, int rows, bool empty = false) => empty
        ? OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, ElementType, [rows, _kvHeads, 0, HeadDim], _empty, 0)
        : View(_past[Index(layer, value)], rows, Timeline);

    /// <summary>Where a decode step's present goes: [rows, kv_heads, timeline + 1, head_dim].</summary>
    public OrtValue Present(int layer, bool value, int rows) => View(_present[Index(layer, value)], rows, Timeline + 1);

    /// <summary>After a decode step: the present becomes the past, one position longer, the new token in each row's mask.</summary>
    public void EndDecode()
    {
        (IntPtr[] a, IntPtr[] b) = (_past, _present);
        for (int i = 0; i < a.Length; i++)
        {
            (a[i], b[i]) = (b[i], a[i]);
        }

        Timeline++;
        for (int r = 0; r < Rows; r++)
        {
            Mark(r, Timeline);
            _mask[r][Timeline - 1] = 1;
            _valid[r]++;
        }
    }

    /// <summary>
    /// Rows [<paramref name="first"/>, + lengths.Length) join from a prefill's presents (one per layer and
    /// K/V, [rows, kv_heads, <paramref name="tokens"/>, head_dim]): row i's first lengths[i] positions.
    /// </summary>
    public unsafe void Join(int first, int tokens, ReadOnlySpan<int> lengths, Func<int, bool, IntPtr> presents)
    {
        Rows = first;
        int timeline = first == 0 ? tokens : Math.Max(Timeline, tokens);
        long need = (long)(first + lengths.Length) * timeline;
        if (need > _capacity)
        {
            Reallocate(Math.Max(need, _capacity + (_capacity / 2)));
        }

        if (timeline != Timeline && first > 0)
        {
            Relayout(timeline, pack: false);
        }

        Timeline = timeline;
        for (int layer = 0; layer < _past.Length / 2; layer++)
        {
            foreach (bool value in (ReadOnlySpan<bool>)[false, true])
            {
                IntPtr source = presents(layer, value), target = _past[Index(layer, value)];
                for (int i = 0; i < lengths.Length; i++)
                {
                    for (int h = 0; h < _kvHeads; h++)
                    {
                        long bytes = lengths[i] * _tokenBytes;
                        byte* from = (byte*)source + ((((long)i * _kvHeads) + h) * tokens * _tokenBytes);
                        byte* to = (byte*)target + ((((long)(first + i) * _kvHeads) + h) * timeline * _tokenBytes);
                        Buffer.MemoryCopy(from, to, bytes, bytes);
                    }
                }
            }
        }

        for (int i = 0; i < lengths.Length; i++)
        {
            int row = first + i;
            Mark(row, timeline);
            Array.Clear(_mask[row]);
            _mask[row].AsSpan(0, lengths[i]).Fill(1);
            _valid[row] = lengths[i];
        }

        Rows = first + lengths.Length;
    }

    /// <summary>Moves a row (a lower row freed by a sequence that left): its positions and mask.</summary>
    public unsafe void MoveRow(int from, int to)
    {
        long rowBytes = _kvHeads * Timeline * _tokenBytes;
        foreach (IntPtr buffer in _past)
        {
            Buffer.MemoryCopy((byte*)buffer + (from * rowBytes), (byte*)buffer + (to * rowBytes), rowBytes, rowBytes);
        }

        (_mask[to], _mask[from]) = (_mask[from], _mask[to]);
        _valid[to] = _valid[from];
    }

    public void Dispose()
    {
        for (int i = 0; i < _past.Length; i++)
        {
            Free(_past[i]);
            Free(_present[i]);
            _past[i] = IntPtr.Zero;
            _present[i] = IntPtr.Zero;
        }

        Free(_empty);
        _capacity = 0;
    }

    private static int Index(int layer, bool value) => (2 * layer) + (value ? 1 : 0);

    private OrtValue View(IntPtr buffer, int rows, int timeline) => OrtValue.CreateTensorValueWithData(
        OrtMemoryInfo.DefaultInstance, ElementType, [rows, _kvHeads, timeline, HeadDim], buffer, rows * _kvHeads * timeline * _tokenBytes);

    /// <summary>Packs every row's positions to the front of a timeline as long as the longest row, when there are gaps.</summary>
    private void Pack()
    {
        int longest = 0;
        for (int r = 0; r < Rows; r++)
        {
            longest = Math.Max(longest, _valid[r]);
        }

        if (longest < Timeline)
        {
            Relayout(longest, pack: true);
        }
        else if (Rows == 0)
        {
            Timeline = 0;
        }
    }

    /// <summary>
    /// Copies the rows from the past buffers into the present ones at a timeline of <paramref name="timeline"/>
    /// (packed: only each row's masked positions, to the front), and swaps them.
    /// </summary>
    private unsafe void Relayout(int timeline, bool pack)
    {
        for (int r = 0; r < Rows; r++)
        {
            List<(int Start, int Length)> runs = _runs[r];
            runs.Clear();
            if (!pack)
            {
                runs.Add((0, Timeline));
                continue;
            }

            byte[] m = _mask[r];
            for (int t = 0; t < Timeline; t++)
            {
                if (m[t] == 0)
                {
                    continue;
                }

                int start = t;
                while (t < Timeline && m[t] != 0)
                {
                    t++;
                }

                runs.Add((start, t - start));
            }
        }

        for (int i = 0; i < _past.Length; i++)
        {
            byte* source = (byte*)_past[i], target = (byte*)_present[i];
            for (int r = 0; r < Rows; r++)
            {
                for (int h = 0; h < _kvHeads; h++)
                {
                    long head = ((long)r * _kvHeads) + h;
                    byte* from = source + (head * Timeline * _tokenBytes), to = target + (head * timeline * _tokenBytes);
                    foreach ((int start, int length) in _runs[r])
                    {
                        long bytes = length * _tokenBytes;
                        Buffer.MemoryCopy(from + (start * _tokenBytes), to, bytes, bytes);
                        to += bytes;
                    }
                }
            }

            (_past[i], _present[i]) = (_present[i], _past[i]);
        }

        for (int r = 0; r < Rows; r++)
        {
            Mark(r, timeline);
            if (pack)
            {
                Array.Clear(_mask[r]);
                _mask[r].AsSpan(0, _valid[r]).Fill(1);
            }
            else
            {
                _mask[r].AsSpan(Timeline, timeline - Timeline).Clear();
            }
        }

        Timeline = timeline;
    }

    /// <summary>Makes row <paramref name="row"/>'s mask hold <paramref name="timeline"/> positions (kept).</summary>
    private void Mark(int row, int timeline)
    {
        if (_mask[row].Length < timeline)
        {
            byte[] grown = new byte[Math.Max(timeline, 2 * _mask[row].Length)];
            _mask[row].CopyTo(grown, 0);
            _mask[row] = grown;
        }
    }

    /// <summary>New buffers of <paramref name="capacity"/> row-positions; the past's rows are kept as they are.</summary>
    private unsafe void Reallocate(long capacity)
    {
        capacity = Math.Max(capacity, 1);
        if (capacity == _capacity)
        {
            return;
        }

        long bytes = capacity * _kvHeads * _tokenBytes;
        long used = Rows * _kvHeads * Timeline * _tokenBytes;
        for (int i = 0; i < _past.Length; i++)
        {
            IntPtr past = Allocate(bytes);
            if (_past[i] != IntPtr.Zero && used > 0)
            {
                Buffer.MemoryCopy((void*)_past[i], (void*)past, bytes, used);
            }

            Free(_past[i]);
            Free(_present[i]);
            _past[i] = past;
            _present[i] = Allocate(bytes);
        }

        _capacity = capacity;
    }

    /// <summary>Zeroed: a masked position is never read unmasked, but garbage there must not be NaN in a masked product.</summary>
    private static unsafe IntPtr Allocate(long bytes)
    {
        void* p = NativeMemory.AlignedAlloc((nuint)bytes, 64);
        NativeMemory.Clear(p, (nuint)bytes);
        return (IntPtr)p;
    }

    private static unsafe void Free(IntPtr p)
    {
        if (p != IntPtr.Zero)
        {
            NativeMemory.AlignedFree((void*)p);
        }
    }
}
