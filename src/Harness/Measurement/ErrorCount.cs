namespace Harness.Measurement;

public sealed record ErrorCount(string Message, long Count);
