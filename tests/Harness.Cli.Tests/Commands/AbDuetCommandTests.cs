using Harness.Results;
using Harness.Testing;

namespace Harness.Cli.Tests.Commands;

/// <summary><c>harness ab --duet</c>: a real pair of processes on a tiny workload, and the input it refuses.</summary>
public class AbDuetCommandTests
{
    // A 64x64x64 gemm takes microseconds: thousands of requests per window even on a loaded machine.
    private const string Tiny = "gemm --set size=64 --threads 1 --duration 2s --warmup 0s --min-requests 10 --max-duration 1m";

    [Fact]
    public void Two_rounds_run_both_sides_at_once_on_swapped_cores_and_the_verdict_names_the_design()
    {
        using var dir = new SyntheticResults.TempFolder();

        var (code, output, error) = CliRunner.Run("ab", "--duet", "--a", Tiny, "--b", Tiny, "--rounds", "2", "--window", "500ms", "--out",
            dir.Path);

        Assert.True(code is 0 or 1 or 3, $"exit {code}: {error}");
        Assert.StartsWith("harness compare: ", output, StringComparison.Ordinal);
        Assert.Contains("; duet design)", output, StringComparison.Ordinal);
        Assert.Contains("duet: t-test over pair ratios", output, StringComparison.Ordinal);
        for (int pair = 1; pair <= 2; pair++)
        {
            DuetWindows a = ResultReader.ReadDocument(Path.Combine(dir.Path, "a", $"pair-{pair:00}.json")).Duet!;
            DuetWindows b = ResultReader.ReadDocument(Path.Combine(dir.Path, "b", $"pair-{pair:00}.json")).Duet!;
            Assert.True(a.Synchronized && b.Synchronized, "the sides met before measuring");
            Assert.Equal(a.StartUtc, b.StartUtc);
            Assert.Equal((a.Job, pair, pair, 0.5), (b.Job, a.Pair, b.Pair, a.WindowS));
            Assert.True(a.Completions.Length >= 2 && a.Completions.Sum() > 0,
                $"pair {pair}: {a.Completions.Length} windows, {a.Completions.Sum()} requests");
            Assert.Empty(a.Cpus.Intersect(b.Cpus));
        }

        DuetWindows first = ResultReader.ReadDocument(Path.Combine(dir.Path, "a", "pair-01.json")).Duet!;
        DuetWindows second = ResultReader.ReadDocument(Path.Combine(dir.Path, "a", "pair-02.json")).Duet!;
        Assert.NotEqual(first.Cpus, second.Cpus); // A swapped cores between the rounds
        var (again, repeated, _) = CliRunner.Run("compare", Path.Combine(dir.Path, "a"), Path.Combine(dir.Path, "b"));
        Assert.Equal(code, again);
        Assert.Contains("; duet design)", repeated, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--confirm", "harness: --confirm reruns the interleaved design; with --duet, give more --rounds instead.")]
    [InlineData("--window=10ms", "harness: --window must lie between 50ms and 10m.")]
    public void Bad_duet_options_are_one_sentence_and_exit_2(string option, string sentence)
    {
        using var dir = new SyntheticResults.TempFolder();

        var (code, _, error) = CliRunner.Run("ab", "--duet", option, "--a", Tiny, "--b", Tiny, "--out", dir.Path);

        Assert.Equal(2, code);
        Assert.Equal(sentence, error.Trim());
    }

    [Fact]
    public void A_cuda_backend_on_a_node_without_two_gpus_is_refused_with_the_interleaved_design_offered()
    {
        using var dir = new SyntheticResults.TempFolder();

        var (code, _, error) = CliRunner.Run("ab", "--duet", "--a", "resnet18 --backend onnx:cuda", "--b", "resnet18 --backend onnx:cuda",
            "--out", dir.Path);

        Assert.Equal(2, code);
        Assert.StartsWith("harness: --duet cannot run a CUDA backend on a node with ", error.Trim(), StringComparison.Ordinal);
        Assert.Contains("run ab without --duet (the interleaved design)", error, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(dir.Path, "*.json", SearchOption.AllDirectories));
    }
}
