namespace Harness.Backends;

/// <summary>Settings every native runtime's workloads take.</summary>
public static class RuntimeSettings
{
    /// <summary>
    /// <c>--set spin=0</c>: worker threads sleep instead of spinning between ops (fairer on a shared or
    /// oversubscribed CPU): ONNX Runtime's allow_spinning, libtorch's OMP_WAIT_POLICY.
    /// </summary>
    public static readonly SettingKey<bool> Spin = Setting.Flag("spin", true, "0: worker threads sleep between ops instead of spinning");
}
