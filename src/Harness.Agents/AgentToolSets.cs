using Harness.Agents.Native.Tools;
using Harness.Agents.Tools;

namespace Harness.Agents.Native;

/// <summary>The full set of agent tools: the core's (grep, json, compress, exec) plus sql, embed and tokenize.</summary>
public static class AgentToolSets
{
    public static ToolSet Full() => new(ToolSet.CoreTools().Concat<IAgentTool>([new SqlTool(), new EmbedTool(), new TokenizeTool()]));
}
