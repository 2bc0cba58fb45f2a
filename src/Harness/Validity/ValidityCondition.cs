namespace Harness.Validity;

/// <summary>One named condition of the validity verdict, as written in the result file.</summary>
public sealed record ValidityCondition(string Name, bool Passed, string Detail);
