using Harness.Backends;
using Harness.Hardware.Catalog;
using Harness.Models;
using Harness.Planning;
using Harness.Projection;

namespace Harness.Tests.Projection;

/// <summary>The collective, pipeline and KV-transfer arithmetic, each against a calculation written out by hand.</summary>
public class CollectivesTests
{
    private static readonly HardwareCatalog Catalog = HardwareCatalog.Default;

    /// <summary>100 GB/s per GPU, 1 us a step.</summary>
    private static readonly Link Fast = new("test", 100e9, 1e-6, "test");

    private static LlmRunFacts Run(int prompt = 1000, int batch = 8) =>
        LlmResultReader.Read(SyntheticRuns.Llm(SyntheticRuns.H200, 200, 20, 30e9, batch: batch, prompt: prompt), "synthetic.json");

    private static ProjectionResult Project(string card, ProjectionOptions o) =>
        RooflineProjector.Project(Run(), Catalog.Get("h200"), Catalog.Get(card), o);

    [Fact]
    public void Ring_all_reduce_is_two_n_minus_one_over_n_of_the_bytes_plus_two_n_minus_one_steps()
    {
        // 8 MB over 8 GPUs: 2 x 7/8 x 8e6 B / 100e9 B/s = 140 us; 2 x 7 steps x 1 us = 14 us; 154 us.
        Assert.Equal(154e-6, Collectives.RingAllReduce(8e6, 8, Fast), 12);
        // 2 GPUs: 2 x 1/2 x 8e6 / 100e9 = 80 us + 2 x 1 us = 82 us; one GPU: nothing to reduce.
        Assert.Equal(82e-6, Collectives.RingAllReduce(8e6, 2, Fast), 12);
        Assert.Equal(0, Collectives.RingAllReduce(8e6, 1, Fast));
    }

    [Fact]
    public void All_to_all_sends_n_minus_one_over_n_of_each_gpus_bytes_in_n_minus_one_steps()
    {
        // 4 MB per GPU over 4 GPUs: 3/4 x 4e6 / 100e9 = 30 us; 3 steps x 1 us = 3 us; 33 us.
        Assert.Equal(33e-6, Collectives.AllToAll(4e6, 4, Fast), 12);
        Assert.Equal(0, Collectives.AllToAll(4e6, 1, Fast));
    }

    [Fact]
    public void Point_to_point_and_the_pipeline_bubble()
    {
        // 10 MB over 50 GB/s with 5 us: 200 us + 5 us.
        Assert.Equal(205e-6, Collectives.PointToPoint(10e6, new Link("net", 50e9, 5e-6, "test")), 12);
        // 4 stages, 4 microbatches: 4 + 4 - 1 = 7 stage times, 3 of 7 idle.
        Assert.Equal(7, Collectives.PipelineSlots(4, 4));
        Assert.Equal(3.0 / 7, Collectives.PipelineBubble(4, 4), 12);
        Assert.Equal(0, Collectives.PipelineBubble(1, 1));
    }

    [Fact]
    public void Links_come_from_the_catalog_else_the_stated_priors()
    {
        // GB200: NVLink 5 900 GB/s x 0.88 = 792 GB/s, 1 us a step (catalog).
        Link up = Link.ScaleUp(Catalog.Get("gb200"), ProjectionPriors.Default);
        Assert.Equal(792e9, up.BytesPerS, 0);
        Assert.Equal(1e-6, up.StepLatencyS, 12);
        // B300: ConnectX-8, 100 GB/s x 0.88 = 88 GB/s, 5 us (catalog); GB200 has no NIC in the catalog: 50 x 0.88 = 44 GB/s assumed.
        Link b300 = Link.ScaleOut(Catalog.Get("b300"), ProjectionPriors.Default);
        Assert.Equal(88e9, b300.BytesPerS, 0);
        Assert.Equal(5e-6, b300.StepLatencyS, 12);
        Link gb200 = Link.ScaleOut(Catalog.Get("gb200"), ProjectionPriors.Default);
        Assert.Equal(44e9, gb200.BytesPerS, 0);
        Assert.Contains("assumed bandwidth", gb200.Source, StringComparison.Ordinal);
    }

    [Fact]
    public void Tensor_parallel_decode_pays_two_ring_all_reduces_per_layer()
    {
        ProjectionResult p = Project("gb200", new ProjectionOptions
        {
            Model = ModelCatalog.Load("llama-70b"), Dtype = "fp4", TensorParallel = 8, Batch = 256,
        });

        // Llama-70B: 80 layers, hidden 8192. A decode step at batch 256 all-reduces 256 x 8192 x 2 B = 4,194,304 B, twice a layer.
        // One ring over 8 GPUs at 792 GB/s: 2 x 7/8 x 4,194,304 / 792e9 = 9.267717e-6 s, + 2 x 7 x 1 us = 23.267717 us.
        // 160 of them: 3.72283 ms.
        Assert.Equal(3.72283, p.Collectives!.AllReduceMs, 4);
        Assert.Equal(0, p.Collectives.AllToAllMs);
        Assert.Equal(3.72283, p.Metrics.AllReduceMsPerStep.Value, 4);
        Assert.Equal(8, p.Target.Gpus);
        Assert.Equal("NVLink 5 (NVL72)", p.Target.Domain);
        Assert.Equal(72, p.Target.DomainGpus);
    }

    [Fact]
    public void Expert_parallel_decode_pays_two_all_to_alls_per_moe_layer_and_no_all_reduce()
    {
        ProjectionResult p = Project("gb200", new ProjectionOptions
        {
            Model = ModelCatalog.Load("gpt-oss-120b"), Dtype = "fp4", TensorParallel = 1, ExpertParallel = 8, Batch = 256,
        });

        // gpt-oss-120b: 36 MoE layers, hidden 2880, 4 experts a token. TP 1, EP 8: 8 GPUs, each with 256 / 8 = 32 tokens,
        // sending 32 x 4 x 2880 x 2 B = 737,280 B: 7/8 x 737,280 / 792e9 = 0.814545 us, + 7 x 1 us = 7.814545 us.
        // Dispatch and combine on 36 layers: 72 x 7.814545 us = 0.562647 ms.
        Assert.Equal(0.562647, p.Collectives!.AllToAllMs, 5);
        Assert.Equal(0, p.Collectives.AllReduceMs);
        Assert.Equal("TP1 EP8 PP1", p.Collectives.Layout);
        Assert.Equal(8, p.Target.Gpus);
        Assert.Equal(8, p.Target.ExpertParallel);
    }

    [Fact]
    public void Expert_parallelism_splits_the_routed_experts_and_keeps_the_rest_whole()
    {
        DecoderConfig moe = ModelCatalog.Load("gpt-oss-120b");
        var work = new LlmWorkModel(Run(), new Precision("fp4", "bf16"), moe);
        Harness.Projection.MemoryFit m = RooflineProjector.Memory(
            work, Catalog.Get("gb200"), 64, new Parallelism(1, 8), ProjectionPriors.Default);

        // Routed experts: 36 layers x 128 experts x 3 x 2880 x 2880 = 114,661,785,600 parameters, x 0.5625 B = 64,497,254,400 B.
        // The rest: 116,789,232,960 - 114,661,785,600 = 2,127,447,360 parameters x 0.5625 = 1,196,689,140 B, on every GPU (TP 1).
        // Per GPU: 1,196,689,140 + 64,497,254,400 / 8 = 9,258,845,940 B, + the KV cache / 8.
        Assert.Equal(9.258845940 + m.KvCacheGb / 8, m.PerGpuGb, 2);
        Assert.Equal(64_497_254_400, work.RoutedWeightBytes, 0);
    }

    [Fact]
    public void Pipeline_stages_across_domains_hand_activations_over_the_network()
    {
        ProjectionResult p = Project("h100-sxm", new ProjectionOptions
        {
            Model = ModelCatalog.Load("llama-70b"), Dtype = "bf16", TensorParallel = 8, PipelineParallel = 2, Batch = 64,
        });

        // TP 8 x PP 2 = 16 GPUs, more than the H100's 8-GPU domain: stages talk over the network, which the catalog does not
        // give for the H100: 50 GB/s x 0.88 = 44 GB/s and 5 us assumed. Decode keeps 2 microbatches of 32 in flight;
        // a hop carries 32 x 8192 x 2 B = 524,288 B: 524,288 / 44e9 = 11.915636 us + 5 us = 16.915636 us; 2 hops a token: 0.033831 ms.
        Assert.Equal(0.033831, p.Collectives!.PipelineMs, 5);
        // Prefill: 2 microbatches through 2 stages, 3 stage times, 1 of 3 idle.
        Assert.Equal(1.0 / 3, p.Collectives.PipelineBubble, 9);
        Assert.Equal(16, p.Target.Gpus);
        Assert.Contains("assumed", p.Collectives.PipelineLink, StringComparison.Ordinal);
    }

    [Fact]
    public void Kv_transfer_of_a_prefill_batch_is_its_prompts_cache_over_the_prefill_gpus_links()
    {
        var work = new LlmWorkModel(Run(), new Precision("fp8", "bf16"), ModelCatalog.Load("llama-70b"));
        // Llama-70B's KV: 2 (K, V) x 80 layers x 8 KV heads x 128 x 2 B = 327,680 B a token; a 1000-token prompt 327,680,000 B.
        double kv = work.KvBytes(1000);
        Assert.Equal(327_680_000, kv, 0);
        // A prefill batch of 8 on 2 GPUs sends 8 x 327.68 MB / 2 = 1,310,720,000 B per GPU over NVLink 5 at 792 GB/s:
        // 1.654949 ms + 1 us = 1.655949 ms.
        Link up = Link.ScaleUp(Catalog.Get("gb200"), ProjectionPriors.Default);
        Assert.Equal(1.655949e-3, Disaggregation.TransferSeconds(kv, 8, 2, up), 8);
    }

    [Fact]
    public void Layouts_that_break_the_domain_or_the_model_are_refused_in_one_sentence()
    {
        HardwareSpec h200 = Catalog.Get("h200");
        string Refused(Parallelism par, bool moe) => Assert.Throws<HarnessException>(() => par.Check(h200, moe)).Message;
        Assert.Contains("more than the 8 GPUs", Refused(new Parallelism(1, 16), true), StringComparison.Ordinal);
        Assert.Contains("dense", Refused(new Parallelism(1, 4), false), StringComparison.Ordinal);
        Assert.Contains("multiple of --tp", Refused(new Parallelism(4, 6), true), StringComparison.Ordinal);
        Assert.Equal("TP4 EP8 PP2", new Parallelism(4, 8, 2).Label);
        Assert.Equal(16, new Parallelism(4, 8, 2).Gpus);
    }
}
