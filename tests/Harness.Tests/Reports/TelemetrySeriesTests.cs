using System.Text.Json;
using Harness.Reports;
using Harness.Results;
using Harness.Telemetry;
using Harness.Testing;

namespace Harness.Tests.Reports;

public class TelemetrySeriesTests
{
    [Fact]
    public void Series_come_from_the_typed_telemetry_in_memory_and_read_back_from_a_file()
    {
        ResultDocument doc = SyntheticResults.Make([1, 2]);
        doc.Telemetry = new TelemetryReport
        {
            Enabled = true,
            Gpus =
            [
                new GpuTelemetry
                {
                    Series = new Harness.Telemetry.TelemetrySeries
                    {
                        TS = [0, 1, 2],
                        Columns = { ["power_w"] = new double?[] { 100, null, 120 }, ["temperature_c"] = new double?[] { 40, 41, 42 } },
                    },
                },
            ],
            Cpu = new CpuTelemetry
            {
                Series = new Harness.Telemetry.TelemetrySeries { TS = [0, 1], Columns = { ["utilization"] = new double?[] { 0.5, 0.25 } } },
            },
        };
        using var dir = new SyntheticResults.TempFolder();
        ResultDocument back = ResultReader.ReadDocument(SyntheticResults.Write(dir.Path, "r.json", doc));

        foreach (ResultDocument d in new[] { doc, back })
        {
            IReadOnlyList<TimeSeries> found = Harness.Reports.TelemetrySeries.Find(d);

            Assert.Equal(["gpus[0].series.power_w", "cpu.series.utilization"], found.Select(s => s.Name));
            Assert.Equal(["power", "cpu-utilization"], found.Select(s => s.Kind));
            Assert.Equal([(0.0, 100.0), (2.0, 120.0)], found[0].Points);
            Assert.Equal([(0.0, 0.5), (1.0, 0.25)], found[1].Points);
        }
    }

    [Fact]
    public void A_result_without_telemetry_has_no_series()
    {
        ResultDocument doc = SyntheticResults.Make([1, 2]);
        doc.Telemetry = null;
        Assert.Empty(Harness.Reports.TelemetrySeries.Find(doc));
        ResultDocument back = JsonSerializer.Deserialize<ResultDocument>(ResultJson.Serialize(doc), ResultJson.Options)!;
        Assert.Empty(Harness.Reports.TelemetrySeries.Find(back));
    }
}
