using System.Text.Json;

namespace Harness.Agents.Profiles;

/// <summary>
/// Reads agent profiles (profiles/agents/NAME.json). A name is looked up in profiles/agents under the
/// current folder, then beside the harness; a path ending in .json is read as it is. Unknown keys are
/// errors, so that a typo never silently falls back to a default.
/// </summary>
public static class AgentProfileLoader
{
    public const string Folder = "profiles/agents";

    /// <summary>Folders searched for profile names, in order.</summary>
    public static IReadOnlyList<string> SearchFolders =>
        [Path.Combine(Environment.CurrentDirectory, Folder), Path.Combine(AppContext.BaseDirectory, Folder)];

    /// <summary>Names of the profiles found in the search folders.</summary>
    public static IReadOnlyList<string> Available() => SearchFolders
        .Where(Directory.Exists)
        .SelectMany(d => Directory.EnumerateFiles(d, "*.json"))
        .Select(f => System.IO.Path.GetFileNameWithoutExtension(f))
        .Distinct(StringComparer.Ordinal)
        .Order(StringComparer.Ordinal)
        .ToList();

    public static AgentProfile Load(string nameOrPath)
    {
        string? path = Resolve(nameOrPath);
        if (path is null)
        {
            IReadOnlyList<string> known = Available();
            throw HarnessException.BadInput($"Agent profile '{nameOrPath}' was not found in {string.Join(" or ", SearchFolders)}; known: {(known.Count == 0 ? "none" : string.Join(", ", known))}.");
        }

        try
        {
            using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(path), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            return Parse(doc.RootElement, path);
        }
        catch (JsonException e)
        {
            throw HarnessException.BadInput($"Agent profile '{path}' is not valid JSON: {e.Message}", e);
        }
    }

    public static AgentProfile Parse(JsonElement root, string? path)
    {
        string where = path ?? "(inline)";
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw Bad(where, "must be a JSON object");
        }

        Distribution? turns = null, prompt = null, decode = null, calls = null;
        string? name = null, description = null;
        int agents = 8, maxBatch = 32, maxContext = 131_072, maxOutput = 8_192;
        bool prefix = true, parallel = false, finalWithoutTools = true;
        TimeSpan timeout = TimeSpan.FromSeconds(10);
        ToolFailurePolicy policy = ToolFailurePolicy.Continue;
        var tools = new List<ToolMixEntry>();
        var exec = new ExecSettings();
        var sources = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (JsonProperty p in root.EnumerateObject())
        {
            string field = $"{where}: {p.Name}";
            switch (p.Name)
            {
                case "name": name = String(p.Value, field); break;
                case "description": description = String(p.Value, field); break;
                case "agents": agents = Int(p.Value, field, 1, 100_000); break;
                case "max_batch": maxBatch = Int(p.Value, field, 1, 4096); break;
                case "prefix_caching": prefix = Bool(p.Value, field); break;
                case "max_context_tokens": maxContext = Int(p.Value, field, 16, 100_000_000); break;
                case "turns": turns = Distribution.Parse(p.Value, field); break;
                case "initial_prompt_tokens": prompt = Distribution.Parse(p.Value, field); break;
                case "decode_tokens": decode = Distribution.Parse(p.Value, field); break;
                case "tool_calls_per_turn": calls = Distribution.Parse(p.Value, field); break;
                case "parallel_tool_calls": parallel = Bool(p.Value, field); break;
                case "final_turn_without_tools": finalWithoutTools = Bool(p.Value, field); break;
                case "tool_timeout_ms": timeout = TimeSpan.FromMilliseconds(Int(p.Value, field, 1, 3_600_000)); break;
                case "max_tool_output_tokens": maxOutput = Int(p.Value, field, 1, 10_000_000); break;
                case "on_tool_failure":
                    policy = String(p.Value, field) switch
                    {
                        "continue" => ToolFailurePolicy.Continue,
                        "end_job" => ToolFailurePolicy.EndJob,
                        string s => throw Bad(field, $"is '{s}'; expected continue or end_job"),
                    };
                    break;
                case "tools":
                    if (p.Value.ValueKind != JsonValueKind.Array)
                    {
                        throw Bad(field, "must be an array of tool entries");
                    }

                    int i = 0;
                    foreach (JsonElement t in p.Value.EnumerateArray())
                    {
                        tools.Add(ParseTool(t, $"{field}[{i++}]"));
                    }

                    break;
                case "exec": exec = ParseExec(p.Value, field); break;
                case "sources":
                    foreach (JsonProperty s in p.Value.EnumerateObject())
                    {
                        sources[s.Name] = String(s.Value, $"{field}.{s.Name}");
                    }

                    break;
                default:
                    throw Bad(field, "is not a known profile key");
            }
        }

        if (tools.Count == 0 && calls is not null)
        {
            throw Bad(where, "has tool_calls_per_turn but no tools");
        }

        return new AgentProfile
        {
            Name = name ?? (path is null ? "inline" : System.IO.Path.GetFileNameWithoutExtension(path)),
            Description = description ?? "",
            Path = path,
            Agents = agents,
            MaxBatch = maxBatch,
            PrefixCaching = prefix,
            MaxContextTokens = maxContext,
            Turns = turns ?? throw Bad(where, "needs \"turns\""),
            InitialPromptTokens = prompt ?? throw Bad(where, "needs \"initial_prompt_tokens\""),
            DecodeTokens = decode ?? throw Bad(where, "needs \"decode_tokens\""),
            ToolCallsPerTurn = calls ?? Distribution.Fixed(0),
            ParallelToolCalls = parallel,
            FinalTurnWithoutTools = finalWithoutTools,
            ToolTimeout = timeout,
            OnToolFailure = policy,
            MaxToolOutputTokens = maxOutput,
            Tools = tools,
            Exec = exec,
            Sources = sources,
        };
    }

    private static string? Resolve(string nameOrPath)
    {
        if (nameOrPath.EndsWith(".json", StringComparison.OrdinalIgnoreCase) || nameOrPath.Contains('/'))
        {
            return File.Exists(nameOrPath) ? System.IO.Path.GetFullPath(nameOrPath) : null;
        }

        return SearchFolders.Select(d => System.IO.Path.Combine(d, nameOrPath + ".json")).FirstOrDefault(File.Exists);
    }

    private static ToolMixEntry ParseTool(JsonElement e, string where)
    {
        string? tool = null;
        double weight = 1;
        var variants = new List<KeyValuePair<string, double>>();
        var args = new Dictionary<string, Distribution>(StringComparer.Ordinal);
        foreach (JsonProperty p in e.EnumerateObject())
        {
            switch (p.Name)
            {
                case "tool": tool = String(p.Value, $"{where}.tool"); break;
                case "weight": weight = Number(p.Value, $"{where}.weight", 0); break;
                case "variants":
                    foreach (JsonProperty v in p.Value.EnumerateObject())
                    {
                        variants.Add(new(v.Name, Number(v.Value, $"{where}.variants.{v.Name}", 0)));
                    }

                    break;
                case "args":
                    foreach (JsonProperty a in p.Value.EnumerateObject())
                    {
                        args[a.Name] = Distribution.Parse(a.Value, $"{where}.args.{a.Name}");
                    }

                    break;
                default:
                    throw Bad($"{where}.{p.Name}", "is not a known tool-entry key (tool, weight, variants, args)");
            }
        }

        return new ToolMixEntry
        {
            Tool = tool ?? throw Bad(where, "needs \"tool\""),
            Weight = weight,
            Variants = variants,
            Args = args,
        };
    }

    private static ExecSettings ParseExec(JsonElement e, string where)
    {
        var allow = new List<ExecCommand>();
        int maxOutput = 256 * 1024;
        string sandbox = "auto";
        foreach (JsonProperty p in e.EnumerateObject())
        {
            switch (p.Name)
            {
                case "allow":
                    foreach (JsonElement c in p.Value.EnumerateArray())
                    {
                        string? name = null, command = null;
                        var cargs = new List<string>();
                        foreach (JsonProperty q in c.EnumerateObject())
                        {
                            switch (q.Name)
                            {
                                case "name": name = String(q.Value, $"{where}.allow.name"); break;
                                case "command": command = String(q.Value, $"{where}.allow.command"); break;
                                case "args": cargs.AddRange(q.Value.EnumerateArray().Select(a => String(a, $"{where}.allow.args"))); break;
                                default: throw Bad($"{where}.allow.{q.Name}", "is not a known key (name, command, args)");
                            }
                        }

                        allow.Add(new ExecCommand(
                            name ?? throw Bad($"{where}.allow", "has an entry without \"name\""),
                            command ?? throw Bad($"{where}.allow", $"entry '{name}' has no \"command\""),
                            cargs));
                    }

                    break;
                case "max_output_kb": maxOutput = Int(p.Value, $"{where}.max_output_kb", 1, 1_048_576) * 1024; break;
                case "sandbox":
                    sandbox = String(p.Value, $"{where}.sandbox");
                    if (sandbox is not ("auto" or "unshare" or "none"))
                    {
                        throw Bad($"{where}.sandbox", $"is '{sandbox}'; expected auto, unshare or none");
                    }

                    break;
                default:
                    throw Bad($"{where}.{p.Name}", "is not a known exec key (allow, max_output_kb, sandbox)");
            }
        }

        if (allow.Select(a => a.Name).Distinct(StringComparer.Ordinal).Count() != allow.Count)
        {
            throw Bad($"{where}.allow", "names a command twice");
        }

        return new ExecSettings { Allow = allow, MaxOutputBytes = maxOutput, Sandbox = sandbox };
    }

    private static string String(JsonElement e, string where) =>
        e.ValueKind == JsonValueKind.String ? e.GetString()! : throw Bad(where, "must be a string");

    private static bool Bool(JsonElement e, string where) =>
        e.ValueKind is JsonValueKind.True or JsonValueKind.False ? e.GetBoolean() : throw Bad(where, "must be true or false");

    private static double Number(JsonElement e, string where, double min) =>
        e.ValueKind == JsonValueKind.Number && e.GetDouble() >= min && double.IsFinite(e.GetDouble())
            ? e.GetDouble()
            : throw Bad(where, $"must be a number of at least {min}");

    private static int Int(JsonElement e, string where, int min, int max) =>
        e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out int v) && v >= min && v <= max
            ? v
            : throw Bad(where, $"must be an integer from {min} to {max}");

    private static HarnessException Bad(string where, string what) => HarnessException.BadInput($"Agent profile {where} {what}.");
}
