using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Harness.Agents.Jobs;
using Json.Schema;

namespace Harness.Agents.Tools;

/// <summary>
/// <c>json</c>: what an agent does with an API response: parse a JSON array of order records
/// (System.Text.Json), validate every record against a JSON Schema (a few are deliberately invalid),
/// and transform the valid ones into a summary (totals by category, top customers) written back as JSON.
/// </summary>
public sealed class JsonTool : AgentTool
{
    private const int PoolSize = 4096;

    private const string RecordSchema = """
        {
          "type": "object",
          "required": ["id", "customer", "category", "amount", "currency", "items"],
          "properties": {
            "id": { "type": "integer", "minimum": 0 },
            "customer": { "type": "string", "pattern": "^c_[0-9]{4}$" },
            "category": { "enum": ["books", "tools", "garden", "toys", "food", "music"] },
            "amount": { "type": "number", "minimum": 0 },
            "currency": { "enum": ["EUR", "USD", "GBP"] },
            "items": { "type": "array", "minItems": 1, "items": { "type": "object", "required": ["sku", "qty"],
              "properties": { "sku": { "type": "string" }, "qty": { "type": "integer", "minimum": 1 } } } },
            "note": { "type": "string", "maxLength": 200 }
          }
        }
        """;

    private static readonly string[] Categories = ["books", "tools", "garden", "toys", "food", "music"];
    private static readonly string[] Currencies = ["EUR", "USD", "GBP"];

    private byte[][] _records = [];
    private JsonSchema[] _schemas = [];

    public override string Name => "json";

    public override string Description => "Parse a JSON array of records, validate each against a JSON Schema, and transform the valid ones into a summary.";

    public override IReadOnlyDictionary<string, string> Parameters { get; } = new Dictionary<string, string>
    {
        ["records"] = "records in the document (default 500, at most 100000)",
    };

    public override ToolOutput Invoke(ToolCallPlan call, ToolContext context)
    {
        int n = Arg(call, "records", 500, 1, 100_000);
        int first = new Random(call.Seed).Next(PoolSize);
        var buffer = new ArrayBufferWriter<byte>(n * 200);
        buffer.Write("["u8);
        for (int i = 0; i < n; i++)
        {
            if (i > 0)
            {
                buffer.Write(","u8);
            }

            buffer.Write(_records[(first + i) % PoolSize]);
        }

        buffer.Write("]"u8);
        using JsonDocument doc = JsonDocument.Parse(buffer.WrittenMemory);
        JsonSchema schema = _schemas[context.Worker % _schemas.Length];
        var totals = new SortedDictionary<string, (int Count, decimal Total)>(StringComparer.Ordinal);
        var customers = new Dictionary<string, decimal>(StringComparer.Ordinal);
        int valid = 0, invalid = 0;
        string? firstViolation = null;
        int index = 0;
        foreach (JsonElement record in doc.RootElement.EnumerateArray())
        {
            if ((++index & 63) == 0)
            {
                context.CancellationToken.ThrowIfCancellationRequested();
            }

            EvaluationResults check = schema.Evaluate(record);
            if (!check.IsValid)
            {
                invalid++;
                firstViolation ??= string.Create(CultureInfo.InvariantCulture, $"record {index - 1} (id {(record.TryGetProperty("id", out JsonElement id) ? id.ToString() : "?")})");
                continue;
            }

            valid++;
            string category = record.GetProperty("category").GetString()!;
            decimal amount = record.GetProperty("amount").GetDecimal();
            totals[category] = totals.TryGetValue(category, out var t) ? (t.Count + 1, t.Total + amount) : (1, amount);
            string customer = record.GetProperty("customer").GetString()!;
            customers[customer] = customers.GetValueOrDefault(customer) + amount;
        }

        var output = new ArrayBufferWriter<byte>(1024);
        using (var w = new Utf8JsonWriter(output))
        {
            w.WriteStartObject();
            w.WriteNumber("records", n);
            w.WriteNumber("valid", valid);
            w.WriteNumber("invalid", invalid);
            w.WriteString("first_violation", firstViolation);
            w.WriteStartObject("by_category");
            foreach ((string c, (int count, decimal total)) in totals)
            {
                w.WriteStartObject(c);
                w.WriteNumber("count", count);
                w.WriteNumber("total", total);
                w.WriteEndObject();
            }

            w.WriteEndObject();
            w.WriteStartArray("top_customers");
            foreach (var kv in customers.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).Take(5))
            {
                w.WriteStartObject();
                w.WriteString("customer", kv.Key);
                w.WriteNumber("total", kv.Value);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return new ToolOutput(Encoding.UTF8.GetString(output.WrittenSpan));
    }

    protected override void OnPrepare(ToolEnvironment environment)
    {
        var rng = new Random(environment.Seed ^ 0x150);
        _records = new byte[PoolSize][];
        for (int i = 0; i < PoolSize; i++)
        {
            _records[i] = Record(rng, i);
        }

        // One schema per worker: evaluation keeps per-instance caches.
        _schemas = Enumerable.Range(0, Math.Max(1, environment.Workers)).Select(_ => JsonSchema.FromText(RecordSchema)).ToArray();
    }

    private static byte[] Record(Random rng, int id)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("id", id);
            w.WriteString("customer", string.Create(CultureInfo.InvariantCulture, $"c_{rng.Next(500):0000}"));
            w.WriteString("category", Categories[rng.Next(Categories.Length)]);
            decimal amount = Math.Round((decimal)(rng.NextDouble() * 500), 2);
            if (id % 53 == 7)
            {
                w.WriteString("amount", amount.ToString(CultureInfo.InvariantCulture)); // invalid on purpose
            }
            else
            {
                w.WriteNumber("amount", amount);
            }

            w.WriteString("currency", Currencies[rng.Next(Currencies.Length)]);
            w.WriteStartArray("items");
            int items = 1 + rng.Next(4);
            for (int i = 0; i < items; i++)
            {
                w.WriteStartObject();
                w.WriteString("sku", string.Create(CultureInfo.InvariantCulture, $"sku-{rng.Next(10_000)}"));
                w.WriteNumber("qty", 1 + rng.Next(5));
                w.WriteEndObject();
            }

            w.WriteEndArray();
            if (rng.Next(4) == 0)
            {
                w.WriteString("note", "deliver to the back door, ring twice");
            }

            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }
}
