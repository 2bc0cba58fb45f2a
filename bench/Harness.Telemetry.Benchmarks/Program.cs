using System.Globalization;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Harness.Telemetry.Benchmarks;

// bdn [BenchmarkDotNet args]           the reading and metric-update benchmarks (in-process: no SDK needed)
// sampler-cpu [seconds] [interval ms]  the sampler's CPU share over a real interval
// gpu-check [python] [out dir] [s]     idle, GEMM and decode-shaped runs on GPU 0 with energy (the lent GPU)
string mode = args.Length > 0 ? args[0] : "bdn";
switch (mode)
{
    case "sampler-cpu":
        SamplerCpu.Run(
            TimeSpan.FromSeconds(args.Length > 1 ? double.Parse(args[1], CultureInfo.InvariantCulture) : 30),
            TimeSpan.FromMilliseconds(args.Length > 2 ? double.Parse(args[2], CultureInfo.InvariantCulture) : 100));
        return 0;
    case "gpu-check":
        return GpuCheck.Run(
            args.Length > 1 ? args[1] : "python3",
            args.Length > 2 ? args[2] : "gpu-check",
            TimeSpan.FromSeconds(args.Length > 3 ? double.Parse(args[3], CultureInfo.InvariantCulture) : 10));
    default:
        var config = ManualConfig.CreateMinimumViable()
            .AddJob(Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance))
            .WithOptions(ConfigOptions.JoinSummary);
        BenchmarkSwitcher.FromAssembly(typeof(TelemetryBenchmarks).Assembly).Run(args.Skip(mode == "bdn" ? 1 : 0).ToArray(), config);
        return 0;
}
