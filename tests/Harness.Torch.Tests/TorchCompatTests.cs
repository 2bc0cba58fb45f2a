namespace Harness.Torch.Tests;

/// <summary>Where the installed harness looks for the Debian 12 compat, in order, without touching the real environment.</summary>
public sealed class TorchCompatTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("harness-compat-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Clone()
    {
        string repo = Path.Combine(_dir, "clone");
        Directory.CreateDirectory(Path.Combine(repo, "scripts"));
        File.WriteAllText(Path.Combine(repo, "scripts", "torch-compat.sh"), "");
        string bin = Path.Combine(repo, "src", "Harness.Cli", "bin", "Release", "net10.0");
        Directory.CreateDirectory(bin);
        return bin;
    }

    private Dictionary<string, string?> Env() => new()
    {
        ["HARNESS_TORCH_COMPAT_DIR"] = Path.Combine(_dir, "given"),
        ["HOME"] = Path.Combine(_dir, "home"),
    };

    private static void MakeComplete(TorchCompat.Location l)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(l.Muxer)!);
        File.WriteAllText(l.Muxer, "");
        Directory.CreateDirectory(Path.GetDirectoryName(l.LibStdCxx)!);
        File.WriteAllText(l.LibStdCxx, "");
    }

    [Fact]
    public void The_variable_comes_first_then_the_clone_then_the_user_cache()
    {
        string bin = Clone();
        Dictionary<string, string?> env = Env();

        IReadOnlyList<TorchCompat.Location> c = TorchCompat.Candidates(bin, n => env.GetValueOrDefault(n));

        Assert.Equal(
            [
                Path.Combine(_dir, "given"),
                Path.Combine(_dir, "clone", ".tools", "torch-compat"),
                Path.Combine(_dir, "home", ".cache", "harness", "torch-compat"),
            ],
            c.Select(l => l.Dir));
        Assert.Equal(["HARNESS_TORCH_COMPAT_DIR", "the clone", "the user cache"], c.Select(l => l.FoundBy));
    }

    [Fact]
    public void An_installed_tool_outside_a_clone_looks_in_xdg_cache_home()
    {
        string store = Path.Combine(_dir, "tools", ".store", "harness.cli", "1.0.0");
        Directory.CreateDirectory(store);
        var env = new Dictionary<string, string?> { ["XDG_CACHE_HOME"] = Path.Combine(_dir, "xdg"), ["HOME"] = Path.Combine(_dir, "home") };

        TorchCompat.Location only = Assert.Single(TorchCompat.Candidates(store, n => env.GetValueOrDefault(n)));

        Assert.Equal(Path.Combine(_dir, "xdg", "harness", "torch-compat"), only.Dir);
    }

    [Fact]
    public void Find_takes_the_first_complete_one_and_skips_empty_folders()
    {
        string bin = Clone();
        Dictionary<string, string?> env = Env();
        IReadOnlyList<TorchCompat.Location> c = TorchCompat.Candidates(bin, n => env.GetValueOrDefault(n));
        Directory.CreateDirectory(c[0].Dir);   // given, but empty
        MakeComplete(c[2]);

        Assert.Equal(c[2], TorchCompat.Find(bin, n => env.GetValueOrDefault(n)));
        MakeComplete(c[1]);
        Assert.Equal(c[1], TorchCompat.Find(bin, n => env.GetValueOrDefault(n)));
    }

    [Fact]
    public void Without_any_compat_find_says_none()
    {
        var env = new Dictionary<string, string?> { ["HOME"] = Path.Combine(_dir, "home") };
        Assert.Null(TorchCompat.Find(_dir, n => env.GetValueOrDefault(n)));
    }
}
