namespace Harness.Models.Formats;

/// <summary>
/// A minimal protobuf reader over one message's bytes: field tags, varints, length-delimited fields
/// (as slices, with their offset in the file), and skipping what is not asked for. Malformed input
/// throws <see cref="FormatException"/>; the caller names the file.
/// </summary>
internal ref struct ProtoReader
{
    private readonly ReadOnlySpan<byte> _bytes;
    private readonly long _fileOffset;
    private int _pos;

    /// <param name="bytes">The message's bytes.</param>
    /// <param name="fileOffset">Where <paramref name="bytes"/> start in the file.</param>
    public ProtoReader(ReadOnlySpan<byte> bytes, long fileOffset)
    {
        _bytes = bytes;
        _fileOffset = fileOffset;
    }

    public readonly bool AtEnd => _pos >= _bytes.Length;

    /// <summary>The next field's number and wire type; false at the end of the message.</summary>
    public bool Next(out int field, out int wireType)
    {
        if (_pos >= _bytes.Length)
        {
            field = wireType = 0;
            return false;
        }

        ulong tag = Varint();
        field = (int)(tag >> 3);
        wireType = (int)(tag & 7);
        if (field <= 0 || tag >> 3 > int.MaxValue)
        {
            throw new FormatException($"field number {tag >> 3} at byte {_fileOffset + _pos}");
        }

        return true;
    }

    public ulong Varint()
    {
        ulong value = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            if (_pos >= _bytes.Length)
            {
                throw new FormatException($"a varint runs past the end of its message at byte {_fileOffset + _pos}");
            }

            byte b = _bytes[_pos++];
            value |= (ulong)(b & 0x7f) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }

        throw new FormatException($"a varint longer than 10 bytes at byte {_fileOffset + _pos}");
    }

    /// <summary>A length-delimited field's bytes and where they start in the file.</summary>
    public ReadOnlySpan<byte> Bytes(out long fileOffset)
    {
        ulong length = Varint();
        if (length > (ulong)(_bytes.Length - _pos))
        {
            throw new FormatException($"a field of {length} bytes at byte {_fileOffset + _pos} runs past the end of its message");
        }

        fileOffset = _fileOffset + _pos;
        ReadOnlySpan<byte> value = _bytes.Slice(_pos, (int)length);
        _pos += (int)length;
        return value;
    }

    public string String() => System.Text.Encoding.UTF8.GetString(Bytes(out _));

    /// <summary>A nested message.</summary>
    public ProtoReader Message()
    {
        ReadOnlySpan<byte> bytes = Bytes(out long at);
        return new ProtoReader(bytes, at);
    }

    /// <summary>Skips a field's value of the given wire type.</summary>
    public void Skip(int wireType)
    {
        switch (wireType)
        {
            case 0:
                Varint();
                break;
            case 1:
                Advance(8);
                break;
            case 2:
                Bytes(out _);
                break;
            case 5:
                Advance(4);
                break;
            default:
                throw new FormatException($"wire type {wireType} at byte {_fileOffset + _pos}");
        }
    }

    private void Advance(int n)
    {
        if (n > _bytes.Length - _pos)
        {
            throw new FormatException($"a fixed-size field runs past the end of its message at byte {_fileOffset + _pos}");
        }

        _pos += n;
    }
}
