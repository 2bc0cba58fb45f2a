using Harness.Cost;
using Harness.Hardware.Catalog;

namespace Harness.Tests.Cost;

public sealed class PriceCatalogTests : IDisposable
{
    private static readonly PriceAgePolicy Today = new(new DateOnly(2026, 11, 26));
    private readonly string _dir = Directory.CreateTempSubdirectory("prices-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void The_catalog_prices_every_requested_provider_with_dates_sources_and_known_cards()
    {
        PriceCatalog c = PriceCatalog.Default;
        Assert.Equal(["aws", "azure", "gcp", "oci"], c.Offers.Select(o => o.Provider!).Distinct().Order());
        foreach (PriceOffer o in c.Offers)
        {
            Assert.NotNull(HardwareCatalog.Default.Find(o.Device!));
            Assert.True(o.Gpus > 0, o.Id);
            Assert.True(o.Price.Date <= Today.Today, o.Id);
            Assert.StartsWith("callgideon", o.Price.Source, StringComparison.Ordinal);
        }

        foreach (string card in new[] { "h100-sxm", "h200", "b200", "gb200", "gb300" })
        {
            Assert.NotEmpty(c.ForDevice(card, Today));
        }
    }

    [Fact]
    public void Offers_read_as_published()
    {
        PriceOffer p5 = PriceCatalog.Default.Get("p5.48xlarge", Today);
        Assert.Equal(("aws/p5.48xlarge", 8, 55.04, PriceBasis.Instance), (p5.Id, p5.Gpus, p5.Price.Usd, p5.Price.Basis));
        Assert.Equal(6.88, p5.UsdPerGpuHour!.Value, 9);
        PriceOffer gb300 = PriceCatalog.Default.Get("oci/BM.GPU.GB300.4", Today);
        Assert.Equal((PriceBasis.Gpu, 72.0), (gb300.Price.Basis, gb300.UsdPerInstanceHour));
        Assert.Equal("capacity-block", PriceCatalog.Default.Get("u-p6e-gb200x72", Today).Pricing);
    }

    [Fact]
    public void Old_catalog_prices_are_left_out_and_refused_by_name()
    {
        var later = new PriceAgePolicy(new DateOnly(2028, 1, 1));
        Assert.Empty(PriceCatalog.Default.Current(later));
        Assert.Equal(PriceCatalog.Default.Offers.Count, PriceCatalog.Default.Stale(later).Count);
        var e = Assert.Throws<HarnessException>(() => PriceCatalog.Default.Get("p5.48xlarge", later));
        Assert.Contains("older than the 365-day cutoff", e.Message, StringComparison.Ordinal);
        Assert.Contains("--price", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_instance_lists_the_known_ones()
    {
        var e = Assert.Throws<HarnessException>(() => PriceCatalog.Default.Get("p9.huge", Today));
        Assert.Equal(ExitCodes.BadInput, e.ExitCode);
        Assert.Contains("known: aws/p5.48xlarge", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_user_file_overrides_catalog_offers_and_adds_its_own()
    {
        string path = Write("""
            { "currency": "USD", "offers": [
              { "provider": "aws", "instance": "p5.48xlarge", "device": "h100", "gpus": 8,
                "price": { "value": 40.0, "unit": "USD/h", "date": "2026-11-01", "source": "our contract" } },
              { "id": "lab/box1", "instance": "box1", "device": "h200", "gpus": 4,
                "price": { "value": 3.5, "unit": "USD/gpu-h", "date": "2026-10-01" } } ] }
            """);
        PriceCatalog merged = PriceCatalog.Default.With(PriceCatalog.LoadUserFile(path, HardwareCatalog.Default, Today));

        Assert.Equal(40.0, merged.Get("aws/p5.48xlarge", Today).Price.Usd);
        Assert.Equal("our contract", merged.Get("aws/p5.48xlarge", Today).Price.Source);
        Assert.Equal(14.0, merged.Get("lab/box1", Today).UsdPerInstanceHour, 9);
        Assert.Equal("h100-sxm", merged.Get("p5.48xlarge", Today).Device);
        Assert.Equal(PriceCatalog.Default.Offers.Count + 1, merged.Offers.Count);
    }

    [Theory]
    [InlineData("\"unit\": \"USD/h\", ", "", "without a unit")]
    [InlineData("\"date\": \"2026-11-01\", ", "", "without a date")]
    [InlineData("2026-11-01", "01/11/2026", "write it as yyyy-MM-dd")]
    [InlineData("2026-11-01", "2025-06-01", "older than the 365-day cutoff")]
    [InlineData("2026-11-01", "2027-06-01", "after today")]
    [InlineData("USD/h", "EUR/h", "in US dollars")]
    [InlineData("\"h100\"", "\"tpu\"", "names card 'tpu'")]
    [InlineData("\"gpus\": 8,", "", "needs \"gpus\"")]
    [InlineData("\"value\": 40.0", "\"value\": -1", "positive price")]
    public void A_user_file_with_missing_or_bad_units_dates_or_cards_is_refused(string from, string to, string expected)
    {
        const string good = """
            { "offers": [ { "provider": "aws", "instance": "p5.48xlarge", "device": "h100", "gpus": 8,
              "price": { "value": 40.0, "unit": "USD/h", "date": "2026-11-01", "source": "quote" } } ] }
            """;
        Assert.Single(PriceCatalog.LoadUserFile(Write(good), HardwareCatalog.Default, Today).Offers);
        string path = Write(good.Replace(from, to, StringComparison.Ordinal));
        var e = Assert.Throws<HarnessException>(() => PriceCatalog.LoadUserFile(path, HardwareCatalog.Default, Today));
        Assert.Equal(ExitCodes.BadInput, e.ExitCode);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void A_file_in_another_currency_or_missing_is_refused()
    {
        var e = Assert.Throws<HarnessException>(() => PriceCatalog.LoadUserFile(Write("{ \"currency\": \"EUR\", \"offers\": [] }"), HardwareCatalog.Default, Today));
        Assert.Contains("only USD", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<HarnessException>(() => PriceCatalog.LoadUserFile(Path.Combine(_dir, "none.json"), HardwareCatalog.Default, Today));
        Assert.Contains("does not exist", e.Message, StringComparison.Ordinal);
    }

    private string Write(string json)
    {
        string path = Path.Combine(_dir, $"{Guid.NewGuid():N}.json");
        File.WriteAllText(path, json);
        return path;
    }
}
