using System.Text.RegularExpressions;

namespace Ltb.Topology.Catalog;

/// <summary>
/// One way to write an interface of a node type and the Linux interface name it maps to. Placeholders in braces
/// (`{n}`, `{a}`...) stand for numbers; the Linux template may shift them (`eth{n+1}` for `ge-0/0/{n}`).
/// The name `*` accepts any valid Linux interface name as is.
/// </summary>
public sealed partial class InterfacePattern
{
    private readonly Regex? _regex;

    public InterfacePattern(string name, string linux)
    {
        Name = name;
        Linux = linux;
        if (name != AnyLinuxName)
        {
            var pattern = PlaceholderRegex().Replace(Regex.Escape(name).Replace(@"\{", "{", StringComparison.Ordinal),
                m => $"(?<{m.Groups[1].Value}>[0-9]{{1,5}})");
            _regex = new Regex($"^{pattern}$", RegexOptions.CultureInvariant | RegexOptions.ExplicitCapture);
        }
    }

    public const string AnyLinuxName = "*";

    public string Name { get; }

    public string Linux { get; }

    /// <summary>The Linux name for <paramref name="written"/>, or null when this pattern does not match it.</summary>
    public string? Map(string written)
    {
        if (_regex is null)
        {
            return written;
        }
        var match = _regex.Match(written);
        if (!match.Success)
        {
            return null;
        }
        var failed = false;
        var result = ShiftRegex().Replace(Linux, m =>
        {
            var value = long.Parse(match.Groups[m.Groups["p"].Value].Value, System.Globalization.CultureInfo.InvariantCulture);
            if (m.Groups["d"].Success)
            {
                value += long.Parse(m.Groups["d"].Value, System.Globalization.CultureInfo.InvariantCulture);
            }
            failed |= value < 0;
            return value.ToString(System.Globalization.CultureInfo.InvariantCulture);
        });
        return failed ? null : result;
    }

    [GeneratedRegex(@"\{([a-z])\}")]
    private static partial Regex PlaceholderRegex();

    [GeneratedRegex(@"\{(?<p>[a-z])(?<d>[+-][0-9]+)?\}")]
    private static partial Regex ShiftRegex();
}

/// <summary>How a node type names its interfaces and which one is for management.</summary>
public sealed partial record InterfaceNaming(string Management, IReadOnlyList<InterfacePattern> Patterns)
{
    /// <summary>Linux limits interface names to 15 characters (IFNAMSIZ 16 with the terminating zero).</summary>
    public const int MaxLinuxNameLength = 15;

    /// <summary>Maps a name as written in a topology to the Linux name; null when no pattern of the type accepts it.</summary>
    public string? ToLinuxName(string written)
    {
        foreach (var p in Patterns)
        {
            if (p.Map(written) is { } linux && IsValidLinuxName(linux))
            {
                return linux;
            }
        }
        return null;
    }

    /// <summary>The forms the type accepts, for messages ("eth{n}, Ethernet{n}").</summary>
    public string Describe() => string.Join(", ", Patterns.Select(p => p.Name == InterfacePattern.AnyLinuxName ? "any Linux interface name" : p.Name));

    public static bool IsValidLinuxName(string name) =>
        name.Length is > 0 and <= MaxLinuxNameLength && name is not "." and not ".." && LinuxNameRegex().IsMatch(name);

    [GeneratedRegex(@"^[A-Za-z0-9_.-]+$")]
    private static partial Regex LinuxNameRegex();
}
