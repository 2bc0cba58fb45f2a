using Harness.Cost;
using Harness.Engine;
using Harness.Hardware.Catalog;
using Harness.Planning;
using Harness.Projection;
using Harness.Reports;
using Harness.Results;
using Harness.Tests.Fakes;
using Harness.Tests.Projection;

namespace Harness.Tests.Planning;

public class CapacityPlannerTests
{
    private static readonly PriceAgePolicy Today = new(new DateOnly(2026, 11, 26));

    private static PlanRequest Request(ResultDocument doc, string slo, double target = 50_000, double? coresPerGpu = null) => new()
    {
        Workload = LlmResultReader.Read(doc, "run.json"),
        Source = HardwareCatalog.Default.Get("h200"),
        TargetOutputTokensPerS = target,
        Slos = ServiceLevelObjective.ParseList(slo),
        Cards = CapacityPlanner.DefaultCards.Select(HardwareCatalog.Default.Get).ToList(),
        Prices = PriceCatalog.Default,
        Policy = Today,
        CpuCoresPerGpu = coresPerGpu,
        MaxBatch = 64,
    };

    /// <summary>An 8B model measured GPU-bound on an H200 (decode at 95% of the copy ceiling).</summary>
    private static ResultDocument Run()
    {
        var probe = new LlmWorkModel(LlmResultReader.Read(SyntheticRuns.Llm(SyntheticRuns.H200, 1, 1), "p"));
        return SyntheticRuns.Llm(SyntheticRuns.H200,
            SyntheticRuns.PrefillMs("h200", probe.PrefillFlops(8), 0.7),
            SyntheticRuns.DecodeMs("h200", probe.DecodeBytes(8), 0.95));
    }

    [Fact]
    public void Each_card_gets_whole_tp_groups_enough_for_the_target_and_priced_offers()
    {
        CapacityPlan plan = CapacityPlanner.Plan(Request(Run(), "ttft_p99<2000ms,tpot_p99<100ms", coresPerGpu: 6));

        Assert.Equal(["h100-sxm", "h200", "b200", "gb200", "gb300"], plan.Cards.Select(c => c.Card));
        foreach (CardPlan card in plan.Cards)
        {
            Assert.True(card.MeetsSlo, card.Why);
            double replicas = card.Gpus.Value / card.TensorParallel;
            Assert.Equal(Math.Ceiling(50_000 / (card.OutputTokensPerSPerGpu.Value * card.TensorParallel)), replicas, 0);
            Assert.True(card.Gpus.Low <= card.Gpus.Value && card.Gpus.Value <= card.Gpus.High);
            Assert.Equal(Math.Ceiling(6 * card.Gpus.Value), card.CpuCores);
            Assert.All(card.SloValuesMs, kv => Assert.True(kv.Value.Value <= (kv.Key.StartsWith("ttft", StringComparison.Ordinal) ? 2000 : 100)));
            Assert.NotEmpty(card.Offers);
            foreach (OfferPlan o in card.Offers)
            {
                PriceOffer offer = PriceCatalog.Default.Get(o.Offer, Today);
                Assert.Equal(CostCalculator.InstancesFor(offer, (int)card.Gpus.Value), o.Instances);
                Assert.Equal(Math.Round(o.Instances * offer.UsdPerInstanceHour, 2), o.UsdPerHour, 6);
                Assert.Equal(Math.Round(o.UsdPerHour * 730, 0), o.UsdPerMonth, 6);
            }

            Assert.Equal(card.PowerKw!.Value.Value * 730 / 1000, card.EnergyMwhPerMonth!.Value.Value, 1);
        }
    }

    [Fact]
    public void A_bandwidth_bound_workload_needs_fewer_gpus_on_faster_memory()
    {
        CapacityPlan plan = CapacityPlanner.Plan(Request(Run(), "ttft_p99<2000ms,tpot_p99<100ms"));
        double Gpus(string id) => plan.Cards.Single(c => c.Card == id).Gpus.Value;
        Assert.True(Gpus("h200") <= Gpus("h100-sxm"));
        Assert.True(Gpus("b200") < Gpus("h200"));
        Assert.True(Gpus("gb200") <= Gpus("b200"));
    }

    [Fact]
    public void A_tighter_slo_lowers_the_batch_and_raises_the_fleet()
    {
        CapacityPlan loose = CapacityPlanner.Plan(Request(Run(), "ttft_p99<5000ms,tpot_p99<100ms"));
        CapacityPlan tight = CapacityPlanner.Plan(Request(Run(), "ttft_p99<150ms,tpot_p99<100ms"));
        CardPlan l = loose.Cards.Single(c => c.Card == "h200"), t = tight.Cards.Single(c => c.Card == "h200");
        Assert.True(t.Batch < l.Batch);
        Assert.True(t.Gpus.Value > l.Gpus.Value);
    }

    [Fact]
    public void An_slo_no_configuration_meets_is_reported_not_thrown()
    {
        CapacityPlan plan = CapacityPlanner.Plan(Request(Run(), "tpot_p99<0.5ms"));
        Assert.All(plan.Cards, c =>
        {
            Assert.False(c.MeetsSlo);
            Assert.Contains("no layout and batch meet the SLO", c.Why, StringComparison.Ordinal);
        });
        Assert.Contains("no layout and batch meet the SLO", PlanReport.Markdown(plan), StringComparison.Ordinal);
    }

    [Fact]
    public void The_report_and_chart_name_every_card()
    {
        CapacityPlan plan = CapacityPlanner.Plan(Request(Run(), "ttft_p99<2000ms,tpot_p99<100ms"));
        string md = PlanReport.Markdown(plan);
        string svg = PlanView.Svg(plan);
        var xml = System.Xml.Linq.XDocument.Parse(svg);
        Assert.Equal("svg", xml.Root!.Name.LocalName);
        foreach (string card in CapacityPlanner.DefaultCards)
        {
            Assert.Contains($"| {card} |", md, StringComparison.Ordinal);
            Assert.Contains($">{card}<", svg, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("ttft_p99<500ms,tpot_p99<50ms")]
    [InlineData("tpot_p50 < 0.05s")]
    [InlineData("ttft_p99.9<=2s")]
    public void Plans_take_the_slo_grammar_of_run(string text) =>
        Assert.NotEmpty(CapacityPlanner.Plan(Request(Run(), text)).Cards);

    [Theory]
    [InlineData("ttft<500ms")]
    [InlineData("ttft_p99>500ms")]
    [InlineData("e2e_p99<5s")]
    [InlineData("")]
    public void Bad_slos_are_bad_input(string text) =>
        Assert.Equal(ExitCodes.BadInput, Assert.Throws<HarnessException>(() => ServiceLevelObjective.ParseList(text)).ExitCode);

    [Theory]
    [InlineData("p99<50ms", "latency_p99")]
    [InlineData("ttft_p75<500ms", "ttft_p75")]
    public void A_plan_refuses_what_a_projection_cannot_give_in_one_sentence(string text, string named)
    {
        var e = Assert.Throws<HarnessException>(() => CapacityPlanner.Plan(Request(Run(), text)));
        Assert.Contains(named, e.Message, StringComparison.Ordinal);
        Assert.Contains("ttft_p99<500ms,tpot_p99<50ms", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("50000 tok/s", 50_000)]
    [InlineData("50k tok/s", 50_000)]
    [InlineData("1.2M tokens/s", 1_200_000)]
    [InlineData("750", 750)]
    public void Targets_parse(string text, double expected) => Assert.Equal(expected, PlanTarget.ParseTokensPerSecond(text), 6);

    [Fact]
    public void A_bad_target_or_agent_file_is_bad_input()
    {
        Assert.Throws<HarnessException>(() => PlanTarget.ParseTokensPerSecond("fast"));
        using var dir = new TempDir();
        string Write(string name, object doc)
        {
            string path = Path.Combine(dir.Path, name);
            File.WriteAllText(path, System.Text.Json.JsonSerializer.Serialize(doc, ResultJson.Options));
            return path;
        }

        string none = Write("none.json", new Harness.Agents.Reporting.AgentSweepDocument { CoresPerGpuBasis = "unreachable", CoresPerGpuNote = "even 64 workers keep the device 40% busy" });
        var e = Assert.Throws<HarnessException>(() => AgentCpuDemand.CoresPerGpu(none));
        Assert.Contains(AgentCpuDemand.MetricName, e.Message, StringComparison.Ordinal);
        Assert.Contains("even 64 workers", e.Message, StringComparison.Ordinal);
        var run = Assert.Throws<HarnessException>(() => AgentCpuDemand.CoresPerGpu(Write("run.json", Harness.Testing.SyntheticResults.Make([1, 2]))));
        Assert.Contains("is not an agents sweep", run.Message, StringComparison.Ordinal);
        string folder = Directory.CreateDirectory(Path.Combine(dir.Path, "sweep")).FullName;
        Write(Path.Combine("sweep", ResultReader.AgentSweepFileName), new Harness.Agents.Reporting.AgentSweepDocument { CoresPerGpuFor90pctBusy = 12, CoresPerGpuBasis = "measured" });
        Assert.Equal(12, AgentCpuDemand.CoresPerGpu(folder));
    }

    [Fact]
    public void Each_card_plans_in_the_precision_it_would_serve_in()
    {
        PlanRequest r = Request(Run(), "ttft_p99<2000ms,tpot_p99<100ms") with
        {
            Dtype = CardChoice.Parse("h100=fp8,gb200=fp4", "--dtype", HardwareCatalog.Default),
        };
        CapacityPlan plan = CapacityPlanner.Plan(r);
        CardPlan Card(string id) => plan.Cards.Single(c => c.Card == id);

        Assert.Equal("fp8 (KV cache bf16)", Card("h100-sxm").Precision);
        Assert.Equal("fp4 (KV cache bf16)", Card("gb200").Precision);
        Assert.Equal("bf16", Card("h200").Precision);
        Assert.Contains("fp8 measured on a card", Card("h100-sxm").PrecisionRule, StringComparison.Ordinal);
        Assert.Contains("measured on neither card", Card("gb200").PrecisionRule, StringComparison.Ordinal);
        Assert.Contains(Card("gb200").Basis, b => b is { Part: "precision", Source: "assumed" });
        // Fewer bytes per step: an fp4 GB200 needs no more GPUs than a bf16 one.
        CardPlan bf16 = CapacityPlanner.Plan(Request(Run(), "ttft_p99<2000ms,tpot_p99<100ms")).Cards.Single(c => c.Card == "gb200");
        Assert.True(Card("gb200").Gpus.Value <= bf16.Gpus.Value);

        string md = PlanReport.Markdown(plan);
        Assert.Contains("| gb200 | fp4 (KV cache bf16) |", md, StringComparison.Ordinal);
        Assert.Contains("- gb200 in fp4 (KV cache bf16): fp4 measured on neither card", md, StringComparison.Ordinal);
        Assert.Contains("measured: latencies, efficiencies", md, StringComparison.Ordinal);
    }

    [Fact]
    public void A_mixture_of_experts_model_is_planned_from_a_dense_run()
    {
        PlanRequest r = Request(Run(), "ttft_p99<5000ms,tpot_p99<200ms") with
        {
            Model = Harness.Models.ModelCatalog.Load("gpt-oss-120b"),
            Dtype = CardChoice.Parse("fp8,gb200=fp4,gb300=fp4", "--dtype", HardwareCatalog.Default),
            Cards = [HardwareCatalog.Default.Get("h200"), HardwareCatalog.Default.Get("gb200")],
        };
        CapacityPlan plan = CapacityPlanner.Plan(r);

        Assert.Equal("gpt-oss-120b", plan.Workload);
        Assert.All(plan.Cards, c => Assert.True(c.MeetsSlo, c.Why));
        Assert.Contains(plan.Cards[0].Basis, b => b.Part == "experts read");
        Assert.Contains(plan.Notes, n => n.Contains("gpt-oss-120b is planned from a run", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("fp8", "fp8", null, null)]
    [InlineData("h100=fp8,gb200=fp4", null, "h100-sxm", "fp8")]
    [InlineData("fp8, gb200=FP4", "fp8", "gb200", "fp4")]
    public void Per_card_dtypes_parse(string text, string? fallback, string? card, string? value)
    {
        CardChoice c = CardChoice.Parse(text, "--dtype", HardwareCatalog.Default);
        Assert.Equal(fallback, c.Default);
        if (card is not null)
        {
            Assert.Equal(value, c.For(card));
        }
    }

    [Theory]
    [InlineData("fp8,fp4", "more than one value")]
    [InlineData("h100=fp9", "not a known dtype")]
    [InlineData("tpu=fp8", "Unknown card 'tpu'")]
    [InlineData("h100=fp8,h100-sxm=fp4", "names h100-sxm twice")]
    public void Bad_per_card_dtypes_are_bad_input(string text, string expected)
    {
        var e = Assert.Throws<HarnessException>(() => CardChoice.Parse(text, "--dtype", HardwareCatalog.Default));
        Assert.Equal(ExitCodes.BadInput, e.ExitCode);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_plan_gives_the_production_engine_by_default_and_the_decoder_when_asked_and_says_which()
    {
        ResultDocument host = SyntheticRuns.Llm(SyntheticRuns.H200, ttftMs: 60, tpotMs: 9, parameters: 1e9, batch: 8);
        PlanRequest request = Request(host, "tpot_p99<50ms") with
        {
            Cards = [HardwareCatalog.Default.Get("h200"), HardwareCatalog.Default.Get("gb200")],
        };
        CapacityPlan engine = CapacityPlanner.Plan(request);
        CapacityPlan decoder = CapacityPlanner.Plan(request with { Answer = ProjectionAnswers.Decoder });

        Assert.Equal(ProjectionAnswers.Engine, engine.Answer);
        Assert.All(engine.Cards, c => Assert.Equal(ProjectionAnswers.Engine, c.Answer!.Name));
        Assert.Contains("a production engine on each card", engine.AnswerRule, StringComparison.Ordinal);
        Assert.Contains("0.5 ms per step (assumed", engine.AnswerRule, StringComparison.Ordinal);
        Assert.Contains("Answer (engine): a production engine on each card", PlanReport.Markdown(engine), StringComparison.Ordinal);
        Assert.Contains("Answer (engine): a production engine on each card", PlanView.Render(engine), StringComparison.Ordinal);
        Assert.Equal(ProjectionAnswers.Decoder, decoder.Answer);
        Assert.All(decoder.Cards, c => Assert.Equal(ProjectionAnswers.Decoder, c.Answer!.Name));
        Assert.Contains("Answer (decoder): this harness's decoder on each card", PlanReport.Markdown(decoder), StringComparison.Ordinal);

        // The host overhead hidden, each card serves more per GPU than the harness's decoder would.
        foreach ((CardPlan e, CardPlan d) in engine.Cards.Zip(decoder.Cards))
        {
            Assert.True(e.OutputTokensPerSPerGpu.Value > d.OutputTokensPerSPerGpu.Value, e.Card);
        }
    }

    [Fact]
    public void A_mixture_of_experts_on_gb200_gets_a_tp_ep_layout_in_its_domain_a_frontier_and_a_disaggregated_alternative()
    {
        PlanRequest r = Request(Run(), "ttft_p99<1000ms,tpot_p99<15ms", target: 200_000) with
        {
            Cards = [HardwareCatalog.Default.Get("gb200")],
            Model = Harness.Models.ModelCatalog.Load("gpt-oss-120b"),
            Dtype = new CardChoice("fp4", new Dictionary<string, string>()),
            MaxBatch = 256,
        };
        CapacityPlan plan = CapacityPlanner.Plan(r);
        CardPlan card = Assert.Single(plan.Cards);
        Assert.True(card.MeetsSlo, card.Why);

        // Layouts with EP were tried (gpt-oss is a mixture of experts), inside the NVL72 domain.
        Assert.Contains(card.Curves, c => c.ExpertParallel > 1);
        Assert.All(card.Curves, c => Assert.True(Math.Max(c.TensorParallel, c.ExpertParallel) <= 72));
        Assert.Equal(Math.Max(card.TensorParallel, card.ExpertParallel) * card.PipelineParallel, card.GpusPerReplica);
        string md = PlanReport.Markdown(plan);
        Assert.Contains($"- gb200: TP {card.TensorParallel}, EP {card.ExpertParallel}, PP 1, {card.GpusPerReplica} GPU(s) per replica, "
            + "inside one NVLink 5 (NVL72) domain of 72 GPUs", md, StringComparison.Ordinal);

        // The frontier: fastest per user first, each point more tokens/s per GPU than the one before.
        Assert.NotEmpty(card.Frontier);
        for (int i = 1; i < card.Frontier.Count; i++)
        {
            Assert.True(card.Frontier[i].TokensPerSPerUser <= card.Frontier[i - 1].TokensPerSPerUser);
            Assert.True(card.Frontier[i].TokensPerSPerGpu > card.Frontier[i - 1].TokensPerSPerGpu);
        }

        // The disaggregated pools: y decode replicas cover the target, x prefill replicas its request rate.
        DisaggregatedPlan d = Assert.IsType<DisaggregatedPlan>(card.Disaggregated);
        Assert.Equal($"{d.Prefill.Replicas}P{d.Decode.Replicas}D", d.Ratio);
        Assert.True(d.Decode.Replicas * d.Decode.RatePerReplica >= 200_000 * 0.9999);
        Assert.True((d.Decode.Replicas - 1) * d.Decode.RatePerReplica < 200_000);
        double requestsPerS = 200_000.0 / r.Workload.NewTokens;
        Assert.True(d.Prefill.Replicas * d.Prefill.RatePerReplica >= requestsPerS * 0.9999);
        Assert.Equal(d.Prefill.Gpus + d.Decode.Gpus, d.Gpus);
        Assert.Equal(card.Gpus.Value, d.AggregatedGpus);
        Assert.True(d.SloValuesMs["ttft_p99"] <= 1000 && d.SloValuesMs["tpot_p99"] <= 15);
        Assert.Contains(d.Ratio, md, StringComparison.Ordinal);
        Assert.Contains("Disaggregated alternative", md, StringComparison.Ordinal);
        Assert.Contains("plan-frontier", PlanView.Render(plan), StringComparison.Ordinal);
    }
}
