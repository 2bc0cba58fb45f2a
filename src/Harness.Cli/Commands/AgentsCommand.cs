using System.CommandLine;
using System.Globalization;
using Harness.Agents;
using Harness.Agents.Profiles;
using Harness.Agents.Reporting;
using Harness.Agents.Scheduling;
using Harness.Agents.Tools;
using Harness.Backends;
using Harness.Decoding;
using Harness.Metrics;
using Harness.Results;
using Harness.Running;

namespace Harness.Cli.Commands;

/// <summary>
/// The agent commands: <c>harness run agents</c> (one run, one result file; a subcommand of
/// <c>run</c>), <c>harness agents sweep</c> (the busy-fraction curve and the cores per GPU) and
/// <c>harness agents profiles</c>. Parses options and calls <see cref="AgentBenchmark"/> or
/// <see cref="AgentSweep"/>.
/// </summary>
public static class AgentsCommand
{
    /// <summary>The agent tools of this build; the LLM backends beyond the latency model are the registry's decoder backends.</summary>
    public static Func<ToolSet> Tools { get; set; } = Harness.Agents.Native.AgentToolSets.Full;

    /// <summary><c>harness run agents</c>.</summary>
    public static Command CreateRun(Lazy<BackendRegistry> registry, TextWriter output, TextWriter error, CancellationToken interrupt)
    {
        var o = new CommonOptions();
        var duration = OptionParsers.Duration("--duration", "Measured window (after the warm-up).", "30s", "-d");
        var minTurns = new Option<long>("--min-turns") { Description = "Fewest ok turns in the window for a valid result.", DefaultValueFactory = _ => 20 };
        var maxErrorRate = new Option<double>("--max-error-rate") { Description = "Largest share of failed turns (a turn fails with any tool call) in a valid result.", DefaultValueFactory = _ => 0 };
        var workers = new Option<int?>("--workers", "-w") { Description = "Tool workers (default: the logical cores here)." };
        var outFile = new Option<string?>("--out", "-o") { Description = "Result file (default: results/<machine>/agents_<profile>_<llm>_a<N>w<W>_<utc>.json)." };
        var command = new Command("agents", "Run agents with real CPU tools and an LLM device; write a result file (workload 'agents'). Exit 0 valid, 1 invalid, 2 bad input.")
        {
            duration, minTurns, maxErrorRate, workers, outFile,
        };
        o.AddTo(command);
        command.SetAction((parse, _) => Task.FromResult(Execute(parse)));
        return command;

        int Execute(ParseResult parse)
        {
            double errorRate = parse.GetValue(maxErrorRate);
            if (errorRate is < 0 or > 1)
            {
                throw HarnessException.BadInput("--max-error-rate must lie between 0 and 1.");
            }

            AgentProfile profile = AgentProfileLoader.Load(parse.GetValue(o.Profile)!);
            var request = new AgentRunRequest
            {
                Profile = profile,
                Options = o.Scheduler(parse, profile, parse.GetValue(workers)),
                Timing = new AgentRunTiming(parse.GetValue(o.WarmupOption), parse.GetValue(duration)),
                Llm = o.Llm(parse),
                Validity = new AgentValidity(errorRate, parse.GetValue(minTurns)),
                Output = o.Output.Build(parse, parse.GetValue(outFile)),
            };
            error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"[agents {profile.Name}] {request.Options.Agents} agents, {request.Options.Workers} tool workers, LLM {request.Llm.Backend}: preparing tools, then {request.Timing.Warmup.TotalSeconds:0.#} s warm-up and {request.Timing.Duration.TotalSeconds:0.#} s measured"));
            var bench = new AgentBenchmark(Tools, registry.Value);
            RunOutcome outcome = bench.Run(request, interrupt);
            output.Write(MarkdownSummary.Render(outcome.Document, outcome.Path));
            output.Write(AgentTables.Run(outcome.Document.Agents!, outcome.Document.Metrics.Value(MetricCatalog.UsdPerJob)));
            foreach (string warning in outcome.Warnings ?? [])
            {
                error.WriteLine($"harness: warning: {warning}");
            }

            RunCommand.ReportRescue(outcome, error);
            if (outcome.Document.Cancelled)
            {
                error.WriteLine($"harness: cancelled; the partial result was written to {outcome.Path}.");
            }

            return outcome.ExitCode;
        }
    }

    /// <summary><c>harness agents</c>: sweep and profiles.</summary>
    public static Command CreateGroup(Lazy<BackendRegistry> registry, TextWriter output, TextWriter error, CancellationToken interrupt)
    {
        var group = new Command("agents", "Agent workloads: sweep tool workers to find the CPU cores per GPU an agent mix needs; list profiles.");
        group.Subcommands.Add(CreateSweep(registry, output, error, interrupt));
        group.Subcommands.Add(CreateProfiles(registry, output));
        return group;
    }

    private static Command CreateSweep(Lazy<BackendRegistry> registry, TextWriter output, TextWriter error, CancellationToken interrupt)
    {
        var o = new CommonOptions();
        var workers = new Option<string>("--workers", "-w") { Description = "Tool worker counts to measure, e.g. 1,2,4.", DefaultValueFactory = _ => "1,2,4" };
        var duration = OptionParsers.Duration("--duration", "Measured window of each point.", "20s", "-d");
        var cards = new Option<string[]>("--card") { Description = "Another card's LLM for a projection (repeatable): NAME (a preset), NAME=ttft:X,tpot:Y[,prefill:Z][,tpot_per_seq:S] or NAME=RESULT.json." };
        var outFile = new Option<string?>("--out", "-o") { Description = $"Sweep folder: one result per point (w1.json...) and {ResultReader.AgentSweepFileName} (default: results/<machine>/agents-sweep_<profile>_<llm>_a<N>_<utc>/)." };
        var command = new Command("sweep", "Measure LLM busy fraction and jobs per hour against tool workers; state cores_per_gpu_for_90pct_busy. Exit 0 done, 1 cancelled, 2 bad input.")
        {
            workers, duration, cards, outFile,
        };
        o.AddTo(command);
        command.SetAction((parse, _) => Task.FromResult(Execute(parse)));
        return command;

        int Execute(ParseResult parse)
        {
            AgentProfile profile = AgentProfileLoader.Load(parse.GetValue(o.Profile)!);
            List<int> counts = ParseCounts(parse.GetValue(workers)!);
            var request = new AgentSweepRequest
            {
                Profile = profile,
                Options = o.Scheduler(parse, profile, counts[0]),
                Workers = counts,
                Timing = new AgentRunTiming(parse.GetValue(o.WarmupOption), parse.GetValue(duration)),
                Llm = o.Llm(parse),
                Cards = (parse.GetValue(cards) ?? []).Select(LatencyModelSpec.ParseCard).Select(c => new ProjectionCard(c.Name, c.Model)).ToList(),
                Output = o.Output.Build(parse, parse.GetValue(outFile)),
            };
            error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"[agents sweep {profile.Name}] {request.Options.Agents} agents, workers {string.Join(",", counts)}, LLM {request.Llm.Backend}: {counts.Count} x ({request.Timing.Warmup.TotalSeconds:0.#} + {request.Timing.Duration.TotalSeconds:0.#}) s"));
            var sweep = new AgentSweep(Tools, registry.Value);
            AgentSweepOutcome swept = sweep.Run(request, line => error.WriteLine($"[agents sweep {profile.Name}] {line}"), interrupt);
            output.Write(AgentTables.Sweep(swept.Document, swept.Written.Path));
            foreach (string rescue in swept.Rescues)
            {
                error.WriteLine($"harness: {rescue}");
            }

            return swept.Document.Cancelled || swept.Rescued ? ExitCodes.Invalid : ExitCodes.Ok;
        }
    }

    private static Command CreateProfiles(Lazy<BackendRegistry> registry, TextWriter output)
    {
        var command = new Command("profiles", "List the agent profiles found (profiles/agents/*.json) and the tools of this build.");
        command.SetAction(_ =>
        {
            output.WriteLine("Profiles:");
            foreach (string name in AgentProfileLoader.Available())
            {
                AgentProfile p = AgentProfileLoader.Load(name);
                output.WriteLine($"  {name,-16} {p.Agents} agents, max batch {p.MaxBatch}, tools {string.Join(", ", p.Tools.Select(t => t.Tool))}");
            }

            output.WriteLine();
            output.WriteLine("Tools:");
            using ToolSet tools = Tools();
            foreach (IAgentTool t in tools.All.OrderBy(t => t.Name, StringComparer.Ordinal))
            {
                output.WriteLine($"  {t.Name,-10} {t.Description}");
            }

            output.WriteLine();
            output.WriteLine($"LLM backends: {string.Join(", ", LlmChoice.Names(registry.Value))}; latency-model presets: {string.Join(", ", LatencyModelSpec.Presets.Keys)}.");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static List<int> ParseCounts(string text)
    {
        var counts = new List<int>();
        foreach (string part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out int n) || n is < 1 or > 4096)
            {
                throw HarnessException.BadInput($"--workers '{text}' must list worker counts from 1 to 4096, e.g. 1,2,4.");
            }

            counts.Add(n);
        }

        return counts.Count > 0 ? counts.Distinct().Order().ToList() : throw HarnessException.BadInput("--workers needs at least one worker count, e.g. 1,2,4.");
    }

    /// <summary>Options shared by <c>run agents</c> and <c>agents sweep</c>.</summary>
    private sealed class CommonOptions
    {
        public Option<string> Profile { get; } = new("--profile", "-p") { Description = "Agent profile: a name in profiles/agents (coding-agent, rag, data-analysis) or a .json path.", Required = true };

        public Option<int?> Agents { get; } = new("--agents", "-n") { Description = "Concurrent agents per LLM device (default: the profile's)." };

        public Option<string> LlmBackend { get; } = new("--llm") { Description = $"LLM device: latency-model (default), a real decoder: {RegistryHelp.DecoderNames} (model from --llm-set model_config=NAME), or a server: openai:URL (each step sends the agent's whole conversation; --llm-set model=NAME, api=..., the key from OPENAI_API_KEY).", DefaultValueFactory = _ => LlmChoice.LatencyModelBackend };

        public Option<string?> Preset { get; } = new("--llm-preset") { Description = $"latency-model numbers of a measured card: {string.Join(", ", LatencyModelSpec.Presets.Keys)} (default {LatencyModelSpec.DefaultPreset})." };

        public Option<double?> TtftMs { get; } = new("--llm-ttft-ms") { Description = "latency-model: time of a prefill iteration (fixed part), ms." };

        public Option<double?> TpotMs { get; } = new("--llm-tpot-ms") { Description = "latency-model: time of a decode step at batch 1, ms." };

        public Option<double?> PrefillMsPerToken { get; } = new("--llm-prefill-ms-per-token") { Description = "latency-model: prefill time per new token, ms (default 0 with given numbers)." };

        public Option<double?> TpotMsPerSeq { get; } = new("--llm-tpot-ms-per-seq") { Description = "latency-model: extra decode-step time per sequence beyond the first, ms." };

        public Option<string?> LlmResult { get; } = new("--llm-result") { Description = "latency-model: take TTFT and TPOT (p50) from a result file of an LLM workload." };

        public Option<string[]> LlmSet { get; } = new("--llm-set")
        {
            Description = "Setting of a decoder LLM backend, key=value (repeatable): model_config, dtype, threads, weight_seed, spin, "
                + "libtorch (torch); for openai:URL: model, api, hold, max_tokens_field, temperature, include_usage, timeout; "
                + "for both: context=refuse|truncate-oldest (when conversations can outgrow the LLM's context: refuse, the default, "
                + "exits 2 before any step; truncate-oldest drops the oldest messages).",
        };

        public Option<int?> MaxBatch { get; } = new("--llm-max-batch") { Description = "Batch slots of the LLM device (default: the profile's); for openai:URL, the server's (e.g. vLLM's max_num_seqs): LLM busy = steps in flight / this." };

        public Option<int> MaxPrefill { get; } = new("--llm-max-prefill-tokens") { Description = "Prefill tokens one LLM iteration admits at most.", DefaultValueFactory = _ => 16_384 };

        public Option<string> Batching { get; } = new("--llm-batching") { Description = "continuous (steps join at the next iteration) or static.", DefaultValueFactory = _ => "continuous" };

        public Option<TimeSpan> Window { get; } =
            OptionParsers.Duration("--llm-batch-window", "How long a waiting step waits for others before it is admitted.", "2ms");

        public Option<TimeSpan> WarmupOption { get; } = OptionParsers.Duration("--warmup", "Warm-up before measuring (excluded).", "5s");

        public Option<int> Seed { get; } = new("--seed") { Description = "Seed of the jobs and of the tools' data.", DefaultValueFactory = _ => 42 };

        /// <summary>--results-dir, telemetry, --metrics, --pushgateway and the price (--instance/--price): as for every run.</summary>
        public OutputOptions Output { get; } = new();

        public void AddTo(Command c)
        {
            foreach (Option opt in (Option[])[Profile, Agents, LlmBackend, Preset, TtftMs, TpotMs, PrefillMsPerToken, TpotMsPerSeq, LlmResult, LlmSet, MaxBatch, MaxPrefill, Batching, Window, WarmupOption, Seed])
            {
                c.Options.Add(opt);
            }

            Output.AddTo(c);
        }

        public AgentSchedulerOptions Scheduler(ParseResult parse, AgentProfile profile, int? workers)
        {
            var options = AgentSchedulerOptions.For(profile, parse.GetValue(Agents), workers) with
            {
                MaxBatch = parse.GetValue(MaxBatch) ?? profile.MaxBatch,
                MaxPrefillTokens = parse.GetValue(MaxPrefill),
                Batching = parse.GetValue(Batching) switch
                {
                    "continuous" => LlmBatching.Continuous,
                    "static" => LlmBatching.Static,
                    var s => throw HarnessException.BadInput($"--llm-batching '{s}' is neither continuous nor static."),
                },
                BatchWindow = parse.GetValue(Window),
                Seed = parse.GetValue(Seed),
                ContextPolicy = ContextSetting(parse).Policy,
            };
            options.Validate();
            return options;
        }

        /// <summary><c>--llm-set context=POLICY</c> (the agents' own; the last counts), and the backend's settings without it.</summary>
        private (ContextPolicy Policy, bool Given, string[] Others) ContextSetting(ParseResult parse)
        {
            string[] sets = parse.GetValue(LlmSet) ?? [];
            string? policy = null;
            var rest = new List<string>();
            foreach (string text in sets)
            {
                KeyValuePair<string, string> kv = OptionParsers.Setting(text);
                if (kv.Key == ContextPolicies.Key)
                {
                    policy = kv.Value;
                }
                else
                {
                    rest.Add(text);
                }
            }

            return (policy is null ? ContextPolicy.Refuse : ContextPolicies.Parse(policy), policy is not null, [.. rest]);
        }

        public LlmChoice Llm(ParseResult parse)
        {
            (_, bool contextGiven, string[] sets) = ContextSetting(parse);
            var numbers = new LatencyModelOptions(
                parse.GetValue(TtftMs), parse.GetValue(TpotMs), parse.GetValue(PrefillMsPerToken), parse.GetValue(TpotMsPerSeq), parse.GetValue(LlmResult), parse.GetValue(Preset));
            return LlmChoice.For(parse.GetValue(LlmBackend)!, OptionParsers.Settings(sets), contextGiven, numbers);
        }
    }
}
