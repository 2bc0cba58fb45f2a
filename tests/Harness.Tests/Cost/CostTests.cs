using Harness.Cost;
using Harness.Results;
using Harness.Tests.Projection;

namespace Harness.Tests.Cost;

public class CostTests
{
    private static readonly DateOnly Today = new(2026, 11, 26);

    [Fact]
    public void Cost_per_million_is_price_per_hour_over_hourly_output()
    {
        Assert.Equal(55.04 / (1000 * 3600.0) * 1e6, CostCalculator.UsdPerMillion(55.04, 1000), 12);
        Assert.Equal(15.2889, CostCalculator.UsdPerMillion(55.04, 1000), 4);
        // research/capacity.md 4.5: $1.61/h at 4,715 tok/s is $0.095 per million.
        Assert.Equal(0.095, CostCalculator.UsdPerMillion(1.61, 4715), 3);
        Assert.Equal(10.0 / 3600, CostCalculator.UsdPerJob(10, 1), 12);
        Assert.Throws<ArgumentOutOfRangeException>(() => CostCalculator.UsdPerMillion(1, 0));
    }

    [Fact]
    public void A_run_is_charged_for_the_gpus_it_held()
    {
        PriceOffer p5 = PriceCatalog.Default.Get("p5.48xlarge", new PriceAgePolicy(Today));
        Assert.Equal(6.88, CostCalculator.Charge(p5, 1).UsdPerHour, 9);
        Assert.Equal(13.76, CostCalculator.Charge(p5, 2).UsdPerHour, 9);
        Assert.Equal(55.04, CostCalculator.Charge(p5, 0).UsdPerHour, 9);   // a CPU run holds the whole machine
        PriceOffer perGpu = PriceArgument.Parse("12.29/gpu-h", Today);
        Assert.Equal(24.58, CostCalculator.Charge(perGpu, 2).UsdPerHour, 9);
        Assert.Equal(12.29, CostCalculator.Charge(perGpu, 0).UsdPerHour, 9);
        PriceOffer machine = PriceArgument.Parse("98.32/h", Today);
        Assert.Equal(98.32, CostCalculator.Charge(machine, 1).UsdPerHour, 9);
        Assert.Equal(2, CostCalculator.InstancesFor(p5, 11));
        Assert.Equal(1, CostCalculator.InstancesFor(p5, 8));
    }

    [Theory]
    [InlineData("98.32/h", 98.32, PriceBasis.Instance)]
    [InlineData("$98.32/h", 98.32, PriceBasis.Instance)]
    [InlineData("98.32 USD/hour", 98.32, PriceBasis.Instance)]
    [InlineData("12.29/gpu-h", 12.29, PriceBasis.Gpu)]
    [InlineData("USD 12.29/gpu-hour", 12.29, PriceBasis.Gpu)]
    public void Price_arguments_carry_a_unit_and_todays_date(string text, double usd, PriceBasis basis)
    {
        PriceOffer o = PriceArgument.Parse(text, Today);
        Assert.Equal((usd, basis, Today), (o.Price.Usd, o.Price.Basis, o.Price.Date));
    }

    [Theory]
    [InlineData("98.32", "needs a unit: 98.32/h")]
    [InlineData("98.32 EUR/h", "is not a price")]
    [InlineData("cheap", "is not a price")]
    [InlineData("0/h", "must be positive")]
    public void Price_arguments_without_unit_or_in_another_currency_are_bad_input(string text, string expected)
    {
        var e = Assert.Throws<HarnessException>(() => PriceArgument.Parse(text, Today));
        Assert.Equal(ExitCodes.BadInput, e.ExitCode);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Annotating_a_token_result_adds_usd_per_mtok_and_the_price_used()
    {
        ResultDocument doc = SyntheticRuns.Llm(SyntheticRuns.H100, 95, 12, tokensPerS: 2000);
        PriceOffer p5 = PriceCatalog.Default.Get("p5.48xlarge", new PriceAgePolicy(Today));
        ResultCost.Annotate(doc, p5);

        Assert.Equal(6.88 / (2000 * 3600.0) * 1e6, (double)doc.Metrics.Extra!["usd_per_mtok"]!, 6);
        Assert.Equal(6.88, (double)doc.Metrics.Extra["usd_per_hour"]!, 6);
        // The offer is written once, in config (before the metric catalog it was in metrics too).
        Assert.False(doc.Metrics.Extra.ContainsKey("price"));
        var price = (Dictionary<string, object?>)doc.Config["price"]!;
        Assert.Equal(("aws/p5.48xlarge", "2026-09-19", 1), ((string)price["instance"]!, (string)price["date"]!, (int)price["gpus_charged"]!));
        Assert.StartsWith("callgideon", (string)price["source"]!, StringComparison.Ordinal);
        Assert.Contains("usd_per_mtok", doc.MetricDefinitions.Keys);
        Assert.Contains("usd_per_mtok", ResultJson.Serialize(doc), StringComparison.Ordinal);
        Assert.Equal("Cost: 0.9556 $/Mtok at 6.88 $/h.", CostReport.RunLine(doc));
    }

    [Fact]
    public void A_costed_result_still_matches_the_result_schema()
    {
        ResultDocument doc = SyntheticRuns.Llm(SyntheticRuns.H100, 95, 12, tokensPerS: 2000);
        doc.HarnessVersion = "test";
        doc.StopReason = "completed";
        doc.StartedUtc = new DateTime(2026, 11, 26, 0, 0, 0, DateTimeKind.Utc);
        doc.Validity = [new Harness.Validity.ValidityCondition("min_requests", true, "ok")];
        doc.Metrics.LatencyMs = SyntheticRuns.Distribution(800);
        ResultCost.Annotate(doc, PriceCatalog.Default.Get("p5.48xlarge", new PriceAgePolicy(Today)));

        IReadOnlyList<string> errors = ResultSchema.Validate(ResultJson.Serialize(doc));
        Assert.True(errors.Count == 0, string.Join("; ", errors));
    }

    [Fact]
    public void Samples_and_agent_jobs_are_costed_in_their_own_units()
    {
        var doc = new ResultDocument { Backend = "onnx:cpu", Metrics = new ResultMetrics { ThroughputPerS = 50, ThroughputUnit = "samples" } };
        ResultCost.Annotate(doc, PriceArgument.Parse("0.36/h", Today));
        Assert.Equal(2.0, (double)doc.Metrics.Extra!["usd_per_m_samples"]!, 9);   // 0.36 / (50 x 3600) x 1e6

        var agent = new ResultDocument
        {
            Backend = "torch:cuda",
            Metrics = new ResultMetrics { ThroughputPerS = 100, ThroughputUnit = "tokens", Extra = new() { ["jobs_per_hour"] = 1800.0 } },
        };
        ResultCost.Annotate(agent, PriceArgument.Parse("3.6/gpu-h", Today));
        Assert.Equal(0.002, (double)agent.Metrics.Extra!["usd_per_job"]!, 9);     // 3.6 / (1800 / 3600 x 3600)
    }

    [Fact]
    public void A_priced_result_is_costed_again_on_its_own_price_read_back_from_its_file()
    {
        var agent = new ResultDocument
        {
            Backend = "torch:cuda",
            Metrics = new ResultMetrics { ThroughputPerS = 100, ThroughputUnit = "tokens", Extra = new() { ["jobs_per_hour"] = 1800.0 } },
        };
        Assert.Null(ResultCost.Recorded(agent, "a.json"));
        PriceOffer p5 = PriceCatalog.Default.Get("p5.48xlarge", new PriceAgePolicy(Today));
        ResultCost.Annotate(agent, p5);
        ResultDocument read = System.Text.Json.JsonSerializer.Deserialize<ResultDocument>(ResultJson.Serialize(agent), ResultJson.Options)!;

        // The charge it was priced at (1 of p5's 8 GPUs: 6.88 $/h), not the whole instance a bare price would give.
        CostLine line = ResultCost.Recorded(read, "a.json")!;
        CostLine direct = ResultCost.Compute(agent, p5, "a.json");
        Assert.Equal(("aws/p5.48xlarge", 55.04, new DateOnly(2026, 9, 19)), (line.Offer.Id, line.Offer.Price.Usd, line.Offer.Price.Date));
        Assert.Equal((direct.Charge.UsdPerHour, direct.Charge.Basis), (line.Charge.UsdPerHour, line.Charge.Basis));
        Assert.Equal(direct.UsdPerJob!.Value, line.UsdPerJob!.Value, 12);
        Assert.Equal(direct.UsdPerMillion, line.UsdPerMillion, 9);
        Assert.Contains("own price (config.price", CostReport.RecordedLine(line), StringComparison.Ordinal);

        read.Config["price"] = new Dictionary<string, object?> { ["instance"] = "x", ["value"] = 3.0, ["unit"] = "USD/h" };
        var e = Assert.Throws<HarnessException>(() => ResultCost.Recorded(read, "a.json"));
        Assert.Contains("lacks one of instance, value, unit, date and source", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_result_without_throughput_gets_no_cost_and_a_cost_request_is_bad_input()
    {
        var doc = new ResultDocument { Backend = "onnx:cpu" };
        ResultCost.Annotate(doc, PriceArgument.Parse("1/h", Today));
        Assert.Null(doc.Metrics.Extra);
        Assert.Throws<HarnessException>(() => ResultCost.Compute(doc, PriceArgument.Parse("1/h", Today), "x.json"));
    }

    [Fact]
    public void Gpus_used_come_from_config_then_backend()
    {
        Assert.Equal(4, ResultCost.GpusUsed(new ResultDocument { Backend = "torch:cuda", Config = new() { ["tp"] = 4 } }));
        Assert.Equal(1, ResultCost.GpusUsed(new ResultDocument { Backend = "onnx:cuda:1" }));
        Assert.Equal(0, ResultCost.GpusUsed(new ResultDocument { Backend = "onnx:cpu" }));
    }

    [Fact]
    public void Instance_and_price_together_are_refused()
    {
        var e = Assert.Throws<HarnessException>(() =>
            PriceSelection.Resolve("p5.48xlarge", "1/h", null, new PriceAgePolicy(Today), Harness.Hardware.Catalog.HardwareCatalog.Default));
        Assert.Contains("either --instance or --price", e.Message, StringComparison.Ordinal);
    }
}
