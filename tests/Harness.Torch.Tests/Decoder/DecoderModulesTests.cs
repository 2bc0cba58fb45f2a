using Harness.Backends;
using Harness.Models;
using Harness.Torch.Decoder;
using TorchSharp;
using static TorchSharp.torch;

namespace Harness.Torch.Tests.Decoder;

/// <summary>
/// The call-saving formulations of the decoder modules against the textbook formulas, computed in
/// float64 on random input: RMSNorm through hypot, and RoPE through roll with a signed sin table.
/// </summary>
public class DecoderModulesTests
{
    [TorchTheory]
    [InlineData(1e-3)] // mean(x²) ~ 1e-6, well under eps: a wrongly scaled eps shows here
    [InlineData(1.0)]
    [InlineData(100.0)]
    public void RmsNorm_matches_x_times_rsqrt_of_mean_square_plus_eps_times_gain(double scale)
    {
        TorchRuntime.Ensure("cpu", null);
        const int dim = 64;
        const double eps = 1e-5;
        using var scope = NewDisposeScope();
        torch.manual_seed(3);
        using var norm = new Norm(dim, layerNorm: false, eps);
        using (no_grad())
        {
            norm.get_parameter("weight")!.copy_(randn(dim).mul_(0.1).add_(1));
        }

        norm.Prepare(ScalarType.Float32);
        Tensor x = randn(5, dim).mul_(scale);

        Tensor actual = norm.Forward(x).to(ScalarType.Float64);

        Tensor x64 = x.to(ScalarType.Float64);
        Tensor expected = x64.mul(x64.pow(2).mean([-1L], keepdim: true).add(eps).rsqrt()).mul(norm.get_parameter("weight")!.to(ScalarType.Float64));
        double err = actual.sub(expected).abs().max().item<double>() / expected.abs().max().item<double>();
        Assert.True(err < 1e-6, $"scale {scale}: relative error {err:g3}");
    }

    [TorchFact]
    public void Rope_matches_rotate_half_with_the_shared_tables()
    {
        TorchRuntime.Ensure("cpu", null);
        DecoderConfig c = ModelCatalog.Load("tiny-llama-test");
        using var scope = NewDisposeScope();
        torch.manual_seed(4);
        const int position = 5, seq = 3, heads = 6;
        int hd = c.HeadDim, half = hd / 2;
        (Tensor cos, Tensor signedSin) = TorchDecoderModel.RotaryTables(c, ScalarType.Float32, CPU);
        Tensor x = randn(2, seq, heads, hd);
        Tensor expected = x.to(ScalarType.Float64).clone();

        // Textbook: out[j] = x[j] cos(p θ_j) - x[j + half] sin(p θ_j), out[j + half] = x[j + half] cos + x[j] sin.
        (float[] rc, float[] rs) = RopeTables.Compute(c, c.MaxPositions);
        Tensor x64 = x.to(ScalarType.Float64);
        Tensor cosT = tensor(rc, [c.MaxPositions, half]).narrow(0, position, seq).to(ScalarType.Float64).view(1, seq, 1, half);
        Tensor sinT = tensor(rs, [c.MaxPositions, half]).narrow(0, position, seq).to(ScalarType.Float64).view(1, seq, 1, half);
        Tensor x1 = x64.narrow(-1, 0, half), x2 = x64.narrow(-1, half, half);
        expected.narrow(-1, 0, half).copy_(x1.mul(cosT).sub(x2.mul(sinT)));
        expected.narrow(-1, half, half).copy_(x2.mul(cosT).add(x1.mul(sinT)));

        Attention.Rope(x, half, cos.narrow(0, position, seq), signedSin.narrow(0, position, seq));

        double err = x.to(ScalarType.Float64).sub(expected).abs().max().item<double>();
        Assert.True(err < 1e-6, $"max abs error {err:g3}");
    }
}
