using System.Globalization;
using System.Text.Json;
using Harness.Engine.Scenarios;

namespace Harness.Datasets;

/// <summary>One request line of a Mooncake trace, as read: its lengths, when it arrives, its session and its block ids.</summary>
/// <param name="Line">The line number in the file (for messages and the text of blocks without an id).</param>
/// <param name="ArrivalS">Seconds from the trace's start; null for a later turn of a session that gives no time.</param>
/// <param name="DelayS">Seconds after the session's previous turn ended.</param>
public sealed record TraceRow(
    int Line, int InputTokens, int OutputTokens, double? ArrivalS, string? Session, double DelayS, IReadOnlyList<long> HashIds);

/// <summary>
/// A Mooncake trace file read and checked once (<c>timestamp</c>, <c>input_length</c>,
/// <c>output_length</c>, <c>hash_ids</c>, <c>session_id</c>, <c>delay</c>): the one parse from which
/// both the trace scenario's schedule (<see cref="Arrivals"/>) and the dataset's prompts
/// (<see cref="MooncakeTrace"/>) are made. A missing or malformed file is bad input naming the line.
/// </summary>
public sealed class TraceFile
{
    private TraceFile(string path, IReadOnlyList<TraceRow> rows)
    {
        Path = path;
        Rows = rows;
        Arrivals = rows.Select(r => new TraceArrival(r.ArrivalS, r.Session, r.DelayS)).ToList();
    }

    public string Path { get; }

    public IReadOnlyList<TraceRow> Rows { get; }

    /// <summary>The schedule the trace scenario replays, entry by entry.</summary>
    public IReadOnlyList<TraceArrival> Arrivals { get; }

    /// <summary>
    /// Reads and checks <paramref name="path"/>; <paramref name="lines"/> reads its lines (tests count
    /// the reads), File.ReadLines by default.
    /// </summary>
    public static TraceFile Read(string path, Func<string, IEnumerable<string>>? lines = null)
    {
        if (!File.Exists(path))
        {
            throw HarnessException.BadInput($"Dataset file '{path}' does not exist.");
        }

        var rows = new List<TraceRow>();
        var seenSessions = new HashSet<string>(StringComparer.Ordinal);
        int lineNumber = 0;
        foreach (string line in (lines ?? File.ReadLines)(path))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            JsonElement e;
            try
            {
                using var doc = JsonDocument.Parse(line);
                e = doc.RootElement.Clone();
            }
            catch (JsonException x)
            {
                throw HarnessException.BadInput($"Trace '{path}' line {lineNumber} is not valid JSON: {x.Message}");
            }

            int input = Int(e, "input_length", path, lineNumber, min: 1);
            int output = Int(e, "output_length", path, lineNumber, min: 1);
            double? timestampMs = Double(e, "timestamp", path, lineNumber);
            double delayMs = Double(e, "delay", path, lineNumber) ?? 0;
            bool named = e.TryGetProperty("session_id", out JsonElement sid)
                && sid.ValueKind is JsonValueKind.String or JsonValueKind.Number;
            string? session = named ? sid.ToString() : null;
            bool followUp = session is not null && !seenSessions.Add(session);
            if (!followUp && timestampMs is null && session is null)
            {
                throw HarnessException.BadInput(
                    $"Trace '{path}' line {lineNumber} has no timestamp (ms); only a later turn of a session may go without one.");
            }

            var ids = new List<long>();
            if (e.TryGetProperty("hash_ids", out JsonElement hashes) && hashes.ValueKind == JsonValueKind.Array)
            {
                foreach (JsonElement id in hashes.EnumerateArray())
                {
                    ids.Add(id.TryGetInt64(out long hash)
                        ? hash
                        : throw HarnessException.BadInput($"Trace '{path}' line {lineNumber} has a hash id that is not an integer."));
                }
            }

            double? arrival = followUp ? (timestampMs is { } later ? later / 1000 : null) : (timestampMs ?? 0) / 1000;
            rows.Add(new TraceRow(lineNumber, input, output, arrival, session, delayMs / 1000, ids));
        }

        return rows.Count > 0 ? new TraceFile(path, rows) : throw HarnessException.BadInput($"Trace '{path}' has no request.");
    }

    private static int Int(JsonElement e, string name, string file, int line, int min)
    {
        if (!e.TryGetProperty(name, out JsonElement v) || v.ValueKind == JsonValueKind.Null)
        {
            throw HarnessException.BadInput($"Trace '{file}' line {line} has no {name}.");
        }

        return v.TryGetDouble(out double d) && d >= min && d <= int.MaxValue
            ? (int)Math.Round(d)
            : throw HarnessException.BadInput($"Trace '{file}' line {line}: {name} must be a number of at least {min}.");
    }

    private static double? Double(JsonElement e, string name, string file, int line)
    {
        if (!e.TryGetProperty(name, out JsonElement v) || v.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return v.TryGetDouble(out double d) && d >= 0 && double.IsFinite(d)
            ? d
            : throw HarnessException.BadInput(string.Create(
                CultureInfo.InvariantCulture, $"Trace '{file}' line {line}: {name} must be a number of at least 0."));
    }
}
