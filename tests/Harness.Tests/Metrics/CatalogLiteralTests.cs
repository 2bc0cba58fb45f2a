using System.Reflection;
using System.Text;
using Harness.Metrics;
using Harness.Testing;
using Harness.Validity;

namespace Harness.Tests.Metrics;

/// <summary>
/// Catalog keys are written once: a metric key in Metrics/MetricCatalog.cs, a config key in
/// Metrics/ConfigKeys.cs, a validity-condition name in Validity/ConditionNames.cs. Everywhere else in
/// src they are taken from the catalog, so that a key cannot be misspelt or renamed in one place only.
/// The scan looks at whole string literals in src/**/*.cs (comments, and literals that only contain a
/// key inside a sentence, do not count).
/// </summary>
public class CatalogLiteralTests
{
    /// <summary>
    /// Literals equal to a catalog key that mean something else where they are written. Each entry is
    /// one file and the words it uses in that other sense; the same word anywhere else still fails.
    /// </summary>
    private static readonly Dictionary<string, string[]> OtherSense = new(StringComparer.Ordinal)
    {
        // The OpenAI wire format: request fields and the usage block, which serve reads and the client writes.
        ["src/Harness.Serving/GenerationRequest.cs"] = ["model", "temperature", "include_usage", "n", "seed", "parallel_tool_calls"],
        ["src/Harness.Serving/CompletionWriter.cs"] = ["model", "prompt_tokens"],
        ["src/Harness.Serving/ServerRoutes.cs"] = ["model"],
        ["src/Harness.OpenAI/OpenAiEndpoint.cs"] = ["model", "temperature", "include_usage"],
        ["src/Harness.OpenAI/Streaming/ChunkReader.cs"] = ["prompt_tokens"],

        // Field names of other formats: tokenizer.json, a vLLM/SGLang metric's name part, an agent profile file.
        ["src/Harness.OpenAI/HfTokenizer.cs"] = ["model"],
        ["src/Harness/Models/Formats/SafeTensors.cs"] = ["dtype"],
        ["src/Harness/Models/Formats/ModelExport.cs"] = ["model", "inputs", "outputs", "temperature"], // and genai_config.json's
        ["src/Harness/Models/Formats/ModelFiles.cs"] = ["model"],
        ["src/Harness/Models/Formats/ModelTokenizer.cs"] = ["model"],
        ["src/Harness/ServerMetrics/KnownServerMetrics.cs"] = ["prompt_tokens"],
        ["src/Harness/ServerMetrics/ServerMetricsReport.cs"] = ["prompt_tokens"],
        ["src/Harness/Agents/Profiles/AgentProfileLoader.cs"] =
            ["agents", "turns", "max_batch", "prefix_caching", "max_context_tokens", "initial_prompt_tokens", "decode_tokens",
             "tool_calls_per_turn", "parallel_tool_calls", "on_tool_failure"],

        // --set and --llm-set keys, declared by each workload's typed settings (issue 25 item 5), not config keys.
        ["src/Harness.OpenAI/OpenAiSettings.cs"] = ["model", "api", "max_tokens_field", "temperature", "include_usage"],
        ["src/Harness/Decoding/DecoderOptions.cs"] = ["model_config", "prompt_tokens", "new_tokens", "dtype", "libtorch", "threads"],
        ["src/Harness.Onnx/OnnxSessionFactory.cs"] = ["cuda_graph", "device_id"],
        ["src/Harness/Datasets/DatasetSpec.cs"] = ["turns"],

        // Names of other things: ONNX graph dimensions, what a sweep varies, a projection's basis items,
        // Prometheus labels, report views, columns and CSS classes, a tool's arguments, a CLI command.
        ["src/Harness.Onnx/Decoder/DecoderGraph.cs"] = ["batch"],
        ["src/Harness.Cli/Commands/RunCommand.cs"] = ["batch", "scenario"],
        ["src/Harness/Running/SweepRunner.cs"] = ["batch"],
        ["src/Harness/Projection/ProjectionBasis.cs"] = ["batch", "model"],
        ["src/Harness/Telemetry/Prometheus/HarnessMetrics.cs"] = ["backend", "scenario", "device"],
        ["src/Harness/Running/BenchmarkRunner.cs"] = ["backend"],
        ["src/Harness/Reports/HtmlPage.cs"] = ["backend"],
        ["src/Harness/Reports/HtmlReport.cs"] = ["backend", "scenario", "mfu", "mbu"],
        ["src/Harness/Reports/LlmViews.cs"] = ["mfu", "mbu"],
        ["src/Harness/Reports/AgentViews.cs"] = ["agents"],
        ["src/Harness/Reports/FleetView.cs"] = ["device", "attention"],
        ["src/Harness/Reports/TelemetrySeries.cs"] = ["clock"],
        ["src/Harness/Reports/TimelineViews.cs"] = ["clock", "warmup"],
        ["src/Harness/Reports/SvgChart.cs"] = ["k", "warmup"],
        ["src/Harness/Cost/ResultCost.cs"] = ["device"],
        ["src/Harness.Agents/Tools/EmbedTool.cs"] = ["sentences"],
        ["src/Harness.Cli/Commands/AgentsCommand.cs"] = ["agents"],
        ["src/Harness/Fleet/FleetSuites.cs"] = ["backend", "scenario"],
        ["src/Harness/Agents/Reporting/AgentResults.cs"] = ["agents"], // the workload's name
        ["src/Harness/Agents/Reporting/AgentSection.cs"] = ["agents"], // the result file's section key

        // Column headers of Markdown tables.
        ["src/Harness/Agents/Reporting/AgentTables.cs"] = ["workers"],
        ["src/Harness/Cost/CostReport.cs"] = ["price"],
        ["src/Harness/Fleet/FleetMarkdown.cs"] = ["device"],

        // Plain words and letters: generated text, a /proc/cpuinfo field, SI and regex group names, a JUnit column.
        ["src/Harness/Agents/Tools/SyntheticCorpus.cs"] = ["batch", "model", "api"],
        ["src/Harness/Datasets/SyntheticText.cs"] = ["model"],
        ["src/Harness/Hardware/HardwareProbe.cs"] = ["model"],
        ["src/Harness/Planning/PlanInputs.cs"] = ["k", "m"],
        ["src/Harness/Gate/GateJUnitReport.cs"] = ["n"],
        ["src/Harness/Measurement/Durations.cs"] = ["m"],
        ["src/Harness/Decoding/EndpointRequests.cs"] = ["tokenizer"],
    };

    private static readonly string Src = Path.Combine(Repository.Root, "src");

    [Fact]
    public void No_catalog_key_is_written_as_a_literal_outside_its_catalog()
    {
        var failures = new List<string>();
        foreach ((string file, int line, string literal, Catalog catalog) in Violations())
        {
            failures.Add($"{file}:{line}: \"{literal}\" is a {catalog.What}; take it from {catalog.Member(literal)}");
        }

        Assert.True(failures.Count == 0, $"{failures.Count} catalog keys written as literals:\n{string.Join('\n', failures)}");
    }

    [Fact]
    public void Every_allowance_is_still_needed()
    {
        var seen = new HashSet<(string File, string Literal)>();
        foreach ((string file, int _, string literal, Catalog _) in Hits())
        {
            seen.Add((file, literal));
        }

        var stale = OtherSense.SelectMany(kv => kv.Value.Select(w => (kv.Key, w))).Where(e => !seen.Contains(e)).ToList();
        Assert.True(
            stale.Count == 0,
            "allowances no literal uses any more (remove them): " + string.Join(", ", stale.Select(s => $"{s.Key} \"{s.w}\"")));
    }

    [Fact]
    public void The_scanner_reads_whole_literals_and_skips_comments()
    {
        const string code = """
            // "batch" in a comment
            /* "slo" in a block */
            var a = d["batch"]; var b = "a batch of 8"; char q = '"'; var c = @"slo";
            var e = $"{x["prompt_tokens"]} tokens"; var f = $"enough_samples_{name}"; var g = "say \"latency_ms\"";
            """;

        var found = Literals(code).Select(l => (l.Line, l.Text)).ToList();

        Assert.Equal([(3, "batch"), (3, "a batch of 8"), (3, "slo"), (4, "prompt_tokens"), (4, "say \\\"latency_ms\\\"")], found);
    }

    [Fact]
    public void Each_catalog_declares_each_key_once()
    {
        foreach (Catalog catalog in Catalogs)
        {
            var dupes = catalog.Keys.GroupBy(k => k.Key).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
            Assert.True(dupes.Count == 0, $"{catalog.File} declares {string.Join(", ", dupes)} twice");
        }

        Assert.Equal("enough_samples_p99", ConditionNames.EnoughSamples("p99"));
        Assert.Equal("p99", ConditionNames.EnoughSamplesPercentile("enough_samples_p99"));
        Assert.Null(ConditionNames.EnoughSamplesPercentile(ConditionNames.EnoughSamplesForTail));
        Assert.Null(ConditionNames.EnoughSamplesPercentile(ConditionNames.Slo));
    }

    private sealed record Catalog(string What, string File, IReadOnlyList<KeyValuePair<string, string>> Keys)
    {
        public string Member(string key) => Keys.First(k => k.Key == key).Value;
    }

    private static readonly Catalog[] Catalogs =
    [
        new("metric key", "src/Harness/Metrics/MetricCatalog.cs", typeof(MetricCatalog).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.FieldType == typeof(MetricDefinition))
            .Select(f => new KeyValuePair<string, string>(((MetricDefinition)f.GetValue(null)!).Key, $"MetricCatalog.{f.Name}.Key"))
            .ToList()),
        new("config key", "src/Harness/Metrics/ConfigKeys.cs", Constants(typeof(ConfigKeys))),
        new("validity-condition name", "src/Harness/Validity/ConditionNames.cs", Constants(typeof(ConditionNames))),
    ];

    private static List<KeyValuePair<string, string>> Constants(Type type) =>
        type.GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral && f.FieldType == typeof(string))
            .Select(f => new KeyValuePair<string, string>((string)f.GetRawConstantValue()!, $"{type.Name}.{f.Name}"))
            .ToList();

    /// <summary>Every literal equal to a key, outside the catalog that declares it (allowed or not).</summary>
    private static IEnumerable<(string File, int Line, string Literal, Catalog Catalog)> Hits()
    {
        foreach (string path in Directory.EnumerateFiles(Src, "*.cs", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            string file = Path.GetRelativePath(Repository.Root, path).Replace('\\', '/');
            if (file.Contains("/obj/", StringComparison.Ordinal) || file.Contains("/bin/", StringComparison.Ordinal))
            {
                continue;
            }

            foreach ((int line, string text) in Literals(File.ReadAllText(path)))
            {
                var owners = Catalogs.Where(c => c.Keys.Any(k => k.Key == text)).ToList();
                if (owners.Count > 0 && !owners.Any(c => c.File == file))
                {
                    yield return (file, line, text, owners[0]);
                }
            }
        }
    }

    private static IEnumerable<(string File, int Line, string Literal, Catalog Catalog)> Violations() =>
        Hits().Where(h => !(OtherSense.TryGetValue(h.File, out string[]? words) && words.Contains(h.Literal)));

    /// <summary>
    /// The string literals of C# source with their line: regular, verbatim and raw literals whole;
    /// interpolated strings only where they have no holes, and the literals inside their holes.
    /// Comments and character literals are skipped.
    /// </summary>
    internal static List<(int Line, string Text)> Literals(string code)
    {
        var found = new List<(int, string)>();
        int i = 0;
        Scan(code, ref i, found, stopAtBrace: false);
        var lineStarts = new List<int> { 0 };
        for (int k = 0; k < code.Length; k++)
        {
            if (code[k] == '\n')
            {
                lineStarts.Add(k + 1);
            }
        }

        return found.Select(f => (Line(lineStarts, f.Item1), f.Item2)).ToList();
    }

    private static int Line(List<int> lineStarts, int index)
    {
        int at = lineStarts.BinarySearch(index);
        return (at >= 0 ? at : ~at - 1) + 1;
    }

    private static void Scan(string s, ref int i, List<(int, string)> found, bool stopAtBrace)
    {
        int depth = 0;
        while (i < s.Length)
        {
            char c = s[i];
            if (c == '/' && At(s, i + 1, '/'))
            {
                while (i < s.Length && s[i] != '\n')
                {
                    i++;
                }
            }
            else if (c == '/' && At(s, i + 1, '*'))
            {
                int end = s.IndexOf("*/", i + 2, StringComparison.Ordinal);
                i = end < 0 ? s.Length : end + 2;
            }
            else if (c == '\'')
            {
                i++;
                while (i < s.Length && s[i] != '\'')
                {
                    i += s[i] == '\\' ? 2 : 1;
                }

                i++;
            }
            else if (c is '"' or '@' or '$' && StringStart(s, i) is { } start)
            {
                int at = i;
                (string? text, int next) = ReadString(s, start, found);
                i = next;
                if (text is not null)
                {
                    found.Add((at, text));
                }
            }
            else if (stopAtBrace && c == '{')
            {
                depth++;
                i++;
            }
            else if (stopAtBrace && c == '}')
            {
                if (depth == 0)
                {
                    return;
                }

                depth--;
                i++;
            }
            else
            {
                i++;
            }
        }
    }

    private sealed record Start(int Quote, int Dollars, bool Verbatim);

    /// <summary>Where a string literal begins at <paramref name="i"/> (its prefix of $ and @), or null.</summary>
    private static Start? StartOf(string s, int i)
    {
        int j = i;
        int dollars = 0;
        bool verbatim = false;
        while (j < s.Length && (s[j] == '$' || s[j] == '@'))
        {
            dollars += s[j] == '$' ? 1 : 0;
            verbatim |= s[j] == '@';
            j++;
        }

        return At(s, j, '"') && (j == i || i == 0 || !char.IsLetterOrDigit(s[i - 1])) ? new Start(j, dollars, verbatim) : null;
    }

    private static Start? StringStart(string s, int i) => i > 0 && (s[i - 1] == '$' || s[i - 1] == '@') ? null : StartOf(s, i);

    private static (string? Text, int Next) ReadString(string s, Start start, List<(int, string)> found)
    {
        int q = start.Quote;
        int quotes = 0;
        while (At(s, q + quotes, '"'))
        {
            quotes++;
        }

        if (quotes >= 3)
        {
            // A raw literal: up to the same run of quotes; its holes (if interpolated) are not scanned.
            string fence = new('"', quotes);
            int end = s.IndexOf(fence, q + quotes, StringComparison.Ordinal);
            return end < 0 ? (null, s.Length) : (start.Dollars == 0 ? s[(q + quotes)..end] : null, end + quotes);
        }

        var text = new StringBuilder();
        bool holes = false;
        int i = q + 1;
        while (i < s.Length)
        {
            char c = s[i];
            if (c == '"' && start.Verbatim && At(s, i + 1, '"'))
            {
                text.Append('"');
                i += 2;
            }
            else if (c == '"')
            {
                return (holes ? null : text.ToString(), i + 1);
            }
            else if (c == '\\' && !start.Verbatim)
            {
                text.Append(c).Append(i + 1 < s.Length ? s[i + 1] : ' ');
                i += 2;
            }
            else if (start.Dollars > 0 && c == '{' && At(s, i + 1, '{'))
            {
                text.Append('{');
                i += 2;
            }
            else if (start.Dollars > 0 && c == '{')
            {
                holes = true;
                i++;
                Scan(s, ref i, found, stopAtBrace: true);
                i++;
            }
            else
            {
                text.Append(c);
                i++;
            }
        }

        return (null, s.Length);
    }

    private static bool At(string s, int i, char c) => i < s.Length && s[i] == c;
}
