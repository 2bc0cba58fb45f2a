namespace Harness.Fleet;

/// <summary>
/// Quotes words for a POSIX shell script the harness writes (sbatch scripts). Every word is
/// single-quoted, so nothing in it ($, `, ;, newlines) is ever expanded or run.
/// </summary>
public static class ShellQuote
{
    public static string Word(string word) => "'" + word.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    public static string Words(IEnumerable<string> words) => string.Join(' ', words.Select(Word));
}
