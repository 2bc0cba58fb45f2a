namespace Harness.Validity;

/// <summary>One named condition of the validity verdict, as written in the result file.</summary>
public sealed record ValidityCondition(string Name, bool Passed, string Detail);

/// <summary>
/// A rule a run must meet to be VALID (after MLPerf LoadGen). Rules never throw: each returns its
/// condition with pass/fail and a sentence saying why.
/// </summary>
public interface IValidityRule
{
    ValidityCondition Evaluate(Engine.EngineResult run);
}
