using Harness.Validity;

namespace Harness.Results.Validity;

/// <summary>
/// A rule a run must meet to be VALID (after MLPerf LoadGen). Rules never throw: each returns its
/// condition with pass/fail and a sentence saying why.
/// </summary>
public interface IValidityRule
{
    ValidityCondition Evaluate(Engine.EngineResult run);
}
