using System.Globalization;

namespace Harness.Backends;

/// <summary>A backend as named on the command line: <c>onnx:cpu</c>, <c>onnx:cuda</c>, <c>onnx:cuda:1</c>.</summary>
public sealed record BackendSpec(string Runtime, string Device, int DeviceId)
{
    public static BackendSpec Parse(string text)
    {
        string[] parts = text.Trim().ToLowerInvariant().Split(':');
        if (parts.Length is < 2 or > 3 || parts.Any(string.IsNullOrEmpty))
        {
            throw HarnessException.BadInput($"Backend '{text}' is not of the form runtime:device[:id], e.g. onnx:cpu or onnx:cuda:0.");
        }

        int id = 0;
        if (parts.Length == 3 && (!int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out id) || id > 63))
        {
            throw HarnessException.BadInput($"Backend '{text}' has a device id '{parts[2]}' that is not a number from 0 to 63.");
        }

        return new BackendSpec(parts[0], parts[1], id);
    }

    public override string ToString() => DeviceId == 0 ? $"{Runtime}:{Device}" : $"{Runtime}:{Device}:{DeviceId}";
}
