using Harness.Cost;
using Harness.Hardware.Catalog;
using Harness.Planning;
using Harness.Projection;
using Harness.Results;
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
        Slos = SloLimit.ParseList(slo),
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
            Assert.Contains("no TP and batch meet the SLO", c.Why, StringComparison.Ordinal);
        });
        Assert.Contains("no TP and batch meet the SLO", PlanReport.Markdown(plan), StringComparison.Ordinal);
    }

    [Fact]
    public void The_report_and_chart_name_every_card()
    {
        CapacityPlan plan = CapacityPlanner.Plan(Request(Run(), "ttft_p99<2000ms,tpot_p99<100ms"));
        string md = PlanReport.Markdown(plan);
        string svg = PlanChart.Svg(plan);
        var xml = System.Xml.Linq.XDocument.Parse(svg);
        Assert.Equal("svg", xml.Root!.Name.LocalName);
        foreach (string card in CapacityPlanner.DefaultCards)
        {
            Assert.Contains($"| {card} |", md, StringComparison.Ordinal);
            Assert.Contains($">{card}<", svg, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("ttft_p99<500ms,tpot_p99<50ms", "ttft", "p99", 500)]
    [InlineData("tpot_p50 < 0.05s", "tpot", "p50", 50)]
    [InlineData("itl_p90<=20ms", "tpot", "p90", 20)]
    public void Slos_parse(string text, string metric, string percentile, double ms)
    {
        SloLimit s = SloLimit.ParseList(text)[0];
        Assert.Equal((metric, percentile, ms), (s.Metric, s.Percentile, s.LimitMs));
    }

    [Theory]
    [InlineData("ttft<500ms")]
    [InlineData("ttft_p99>500ms")]
    [InlineData("e2e_p99<5s")]
    [InlineData("")]
    public void Bad_slos_are_bad_input(string text) =>
        Assert.Equal(ExitCodes.BadInput, Assert.Throws<HarnessException>(() => SloLimit.ParseList(text)).ExitCode);

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
        var e = Assert.Throws<HarnessException>(() => AgentCpuDemand.CoresPerGpu(new ResultDocument(), "agent.json"));
        Assert.Contains(AgentCpuDemand.MetricName, e.Message, StringComparison.Ordinal);
        var agent = new ResultDocument { Metrics = new ResultMetrics { Extra = new() { [AgentCpuDemand.MetricName] = 12.5 } } };
        Assert.Equal(12.5, AgentCpuDemand.CoresPerGpu(agent, "agent.json"));
    }
}
