using System.Globalization;
using System.Text;
using Harness.Agents.Jobs;
using Harness.Agents.Tools;
using Microsoft.Data.Sqlite;

namespace Harness.Agents.Native.Tools;

/// <summary>
/// <c>sql</c>: analytical queries on a generated SQLite database (orders and customers) through
/// Microsoft.Data.Sqlite, one read-only connection per worker. The query (variant) and the range of
/// order ids it scans (<c>rows</c>) are drawn per call; the output is the result table as text.
/// </summary>
public sealed class SqlTool : AgentTool
{
    public const int Orders = 500_000;
    public const int Customers = 5_000;

    private static readonly Dictionary<string, string> Queries = new(StringComparer.Ordinal)
    {
        ["aggregate"] = "SELECT category, COUNT(*), ROUND(SUM(amount), 2), ROUND(AVG(amount), 2) FROM orders WHERE id BETWEEN $lo AND $hi GROUP BY category ORDER BY category",
        ["join"] = "SELECT c.region, c.tier, COUNT(*), ROUND(SUM(o.amount), 2) FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.id BETWEEN $lo AND $hi GROUP BY c.region, c.tier ORDER BY 4 DESC, 1, 2",
        ["filter"] = "SELECT id, customer_id, category, amount FROM orders WHERE id BETWEEN $lo AND $hi AND amount > 450 ORDER BY amount DESC, id LIMIT 20",
        ["top_customers"] = "SELECT customer_id, COUNT(*), ROUND(SUM(amount), 2) AS total FROM orders WHERE id BETWEEN $lo AND $hi GROUP BY customer_id ORDER BY total DESC, customer_id LIMIT 10",
        ["search"] = "SELECT id, amount, note FROM orders WHERE id BETWEEN $lo AND $hi AND note LIKE '%urgent%' ORDER BY amount DESC, id LIMIT 25",
    };

    private static readonly string[] Categories = ["books", "tools", "garden", "toys", "food", "music"];
    private static readonly string[] Regions = ["north", "south", "east", "west", "central"];
    private static readonly string[] Notes = ["", "", "", "gift wrap", "urgent delivery", "leave at door", "call first", "urgent: fragile"];

    private SqliteConnection[] _connections = [];
    private object[] _locks = [];

    public override string Name => "sql";

    public override string Description => "Analytical SQL (aggregate, join, filter, top_customers, search) on a generated 500,000-order SQLite database.";

    public override IReadOnlyDictionary<string, string> Parameters { get; } = new Dictionary<string, string>
    {
        ["rows"] = "order ids scanned (default 20000, at most 500000)",
    };

    public override IReadOnlyList<string> Variants { get; } = Queries.Keys.ToList();

    public override ToolOutput Invoke(ToolCallPlan call, ToolContext context)
    {
        int rows = Arg(call, "rows", 20_000, 1, Orders);
        int lo = 1 + new Random(call.Seed).Next(Orders - rows + 1);
        string variant = call.Variant ?? "aggregate";
        int slot = context.Worker % _connections.Length;
        if (!Monitor.TryEnter(_locks[slot], TimeSpan.FromSeconds(1)))
        {
            throw new ToolFailedException("the worker's database connection is held by an abandoned call");
        }

        try
        {
            using SqliteCommand cmd = _connections[slot].CreateCommand();
            cmd.CommandText = Queries[variant];
            cmd.Parameters.AddWithValue("$lo", lo);
            cmd.Parameters.AddWithValue("$hi", lo + rows - 1);
            using CancellationTokenRegistration cancel = context.CancellationToken.Register(cmd.Cancel);
            var sb = new StringBuilder();
            sb.Append(CultureInfo.InvariantCulture, $"{variant} over orders {lo}..{lo + rows - 1}\n");
            try
            {
                using SqliteDataReader reader = cmd.ExecuteReader();
                int n = 0;
                while (reader.Read())
                {
                    for (int i = 0; i < reader.FieldCount; i++)
                    {
                        sb.Append(i == 0 ? "" : " | ").Append(Convert.ToString(reader.GetValue(i), CultureInfo.InvariantCulture));
                    }

                    sb.Append('\n');
                    n++;
                }

                sb.Append(CultureInfo.InvariantCulture, $"({n} rows)\n");
            }
            catch (SqliteException) when (context.CancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException(context.CancellationToken);
            }

            return new ToolOutput(sb.ToString());
        }
        finally
        {
            Monitor.Exit(_locks[slot]);
        }
    }

    protected override void OnPrepare(ToolEnvironment environment)
    {
        string path = Path.Combine(environment.TempDirectory, "agents.db");
        var create = new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = false }.ToString();
        using (var db = new SqliteConnection(create))
        {
            db.Open();
            Generate(db, environment.Seed);
        }

        var readOnly = new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false, Cache = SqliteCacheMode.Private }.ToString();
        int n = Math.Max(1, environment.Workers);
        _connections = new SqliteConnection[n];
        _locks = new object[n];
        for (int i = 0; i < n; i++)
        {
            _connections[i] = new SqliteConnection(readOnly);
            _connections[i].Open();
            _locks[i] = new object();
        }
    }

    protected override void Dispose(bool disposing)
    {
        foreach (SqliteConnection c in _connections)
        {
            c.Dispose();
        }

        _connections = [];
        base.Dispose(disposing);
    }

    private static void Generate(SqliteConnection db, int seed)
    {
        Exec(db, "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;");
        Exec(db, "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, region TEXT NOT NULL, tier INTEGER NOT NULL)");
        Exec(db, "CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL, category TEXT NOT NULL, amount REAL NOT NULL, ts INTEGER NOT NULL, note TEXT NOT NULL)");
        var rng = new Random(seed ^ 0x5A1);
        using SqliteTransaction tx = db.BeginTransaction();
        using (SqliteCommand c = db.CreateCommand())
        {
            c.CommandText = "INSERT INTO customers VALUES ($id, $name, $region, $tier)";
            SqliteParameter id = c.Parameters.Add("$id", SqliteType.Integer), name = c.Parameters.Add("$name", SqliteType.Text),
                region = c.Parameters.Add("$region", SqliteType.Text), tier = c.Parameters.Add("$tier", SqliteType.Integer);
            for (int i = 1; i <= Customers; i++)
            {
                (id.Value, name.Value, region.Value, tier.Value) = (i, $"customer {i}", Regions[rng.Next(Regions.Length)], 1 + rng.Next(3));
                c.ExecuteNonQuery();
            }
        }

        using (SqliteCommand c = db.CreateCommand())
        {
            c.CommandText = "INSERT INTO orders VALUES ($id, $customer, $category, $amount, $ts, $note)";
            SqliteParameter id = c.Parameters.Add("$id", SqliteType.Integer), customer = c.Parameters.Add("$customer", SqliteType.Integer),
                category = c.Parameters.Add("$category", SqliteType.Text), amount = c.Parameters.Add("$amount", SqliteType.Real),
                ts = c.Parameters.Add("$ts", SqliteType.Integer), note = c.Parameters.Add("$note", SqliteType.Text);
            for (int i = 1; i <= Orders; i++)
            {
                id.Value = i;
                customer.Value = 1 + rng.Next(Customers);
                category.Value = Categories[rng.Next(Categories.Length)];
                amount.Value = Math.Round(rng.NextDouble() * 500, 2);
                ts.Value = 1_767_225_600L + (i * 37L);
                note.Value = Notes[rng.Next(Notes.Length)];
                c.ExecuteNonQuery();
            }
        }

        tx.Commit();
        Exec(db, "CREATE INDEX orders_customer ON orders (customer_id); ANALYZE;");
    }

    private static void Exec(SqliteConnection db, string sql)
    {
        using SqliteCommand c = db.CreateCommand();
        c.CommandText = sql;
        c.ExecuteNonQuery();
    }
}
