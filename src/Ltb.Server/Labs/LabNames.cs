using System.Text.RegularExpressions;

namespace Ltb.Server.Labs;

/// <summary>How the store names labs: the user's name, and the name on the host.</summary>
public static partial class LabNames
{
    public const string Rule = "letters, digits, '_' and '-', starting with a letter or digit, at most 40 characters";

    /// <summary>A lab's name as users write it (also part of container and namespace names, hence the narrow alphabet).</summary>
    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")]
    public static partial Regex Valid();

    /// <summary>
    /// The lab's name on the host: the user's name plus 6 hex digits of the lab's id, so that two users' labs named alike
    /// never meet on one host. At most 47 characters; the runtime derives host interface names from a hash, not from it.
    /// </summary>
    public static string Runtime(string name, Guid id) => $"{name}-{id.ToString("N")[..6]}";
}
