using System.Text.RegularExpressions;

namespace Ltb.Topology.Model;

/// <summary>
/// The safe character set for lab, node and node type names: they become container names, parts of interface
/// names and file names, so they are limited to letters, digits, '-', '_' and '.', starting with a letter or digit.
/// </summary>
public static partial class Names
{
    public const int MaxLength = 63;

    public const string SafeRule = "must start with a letter or digit and hold only letters, digits, '-', '_' and '.' (at most 63 characters)";

    public static bool IsSafe(string name) => name.Length is > 0 and <= MaxLength && SafeRegex().IsMatch(name);

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
    private static partial Regex SafeRegex();
}
