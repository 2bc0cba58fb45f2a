using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using Harness.Backends;
using Harness.Decoding;

namespace Harness.Cli.Commands;

/// <summary>
/// Help text that names what the registry holds, filled in only when help is shown: the command tree
/// is built on every invocation, and building it constructs no backend provider (the registry is lazy).
/// The duration options' defaults are shown as written then too (<see cref="OptionParsers.Duration"/>).
/// </summary>
internal static class RegistryHelp
{
    /// <summary>Stands for the registry's decoder backends (onnx:cpu, torch:cuda...) in an option's description.</summary>
    public const string DecoderNames = "{decoder backends}";

    /// <summary>Makes <paramref name="root"/>'s help fill in the placeholders from <paramref name="registry"/> first.</summary>
    public static void Install(RootCommand root, Lazy<BackendRegistry> registry)
    {
        HelpOption help = root.Options.OfType<HelpOption>().Single();
        help.Action = new FillThenHelp((HelpAction)help.Action!, root, registry);
    }

    private sealed class FillThenHelp(HelpAction help, Command root, Lazy<BackendRegistry> registry) : SynchronousCommandLineAction
    {
        /// <summary>As help's own action: <c>--help</c> shows help even when a required option is missing.</summary>
        public override bool ClearsParseErrors => help.ClearsParseErrors;

        public override int Invoke(ParseResult parseResult)
        {
            string decoders = string.Join(", ", DecoderBackends.Names(registry.Value));
            foreach (Option option in Options(root).Where(o => o.Description?.Contains(DecoderNames, StringComparison.Ordinal) == true))
            {
                option.Description = option.Description!.Replace(DecoderNames, decoders, StringComparison.Ordinal);
            }

            OptionParsers.ShowDurationDefaultsAsWritten(Options(root));
            return help.Invoke(parseResult);
        }

        private static IEnumerable<Option> Options(Command command) => command.Options.Concat(command.Subcommands.SelectMany(Options));
    }
}
