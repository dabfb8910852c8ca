using System.Text.RegularExpressions;

namespace Ltb.Server.Api;

/// <summary>Collects field errors of a request; the endpoint answers 400 with all of them at once.</summary>
public sealed partial class Validation
{
    private readonly Dictionary<string, List<string>> _errors = new(StringComparer.Ordinal);

    public bool IsValid => _errors.Count == 0;

    public Validation Add(string field, string message)
    {
        if (!_errors.TryGetValue(field, out var list))
        {
            _errors[field] = list = [];
        }
        list.Add(message);
        return this;
    }

    public Validation Require(string field, string? value, Regex pattern, string rule)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return Add(field, "is required");
        }
        return pattern.IsMatch(value) ? this : Add(field, rule);
    }

    public Validation MaxLength(string field, string? value, int max) =>
        value is not null && value.Length > max ? Add(field, $"is longer than {max} characters") : this;

    public Validation Range(string field, long? value, long min, long max) =>
        value is { } v && (v < min || v > max) ? Add(field, $"must be between {min} and {max}") : this;

    public Dictionary<string, string[]> Errors => _errors.ToDictionary(e => e.Key, e => e.Value.ToArray());

    /// <summary>User names: lower case, they appear in lab and container names later.</summary>
    [GeneratedRegex("^[a-z][a-z0-9._-]{1,63}$")]
    public static partial Regex UserName();

    public const string UserNameRule = "2 to 64 characters: lower-case letters, digits, '.', '_', '-', starting with a letter";

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9 ._-]{0,99}$")]
    public static partial Regex GroupName();

    public const string GroupNameRule = "1 to 100 characters: letters, digits, spaces, '.', '_', '-', starting with a letter or digit";

    [GeneratedRegex("^[a-z0-9][a-z0-9.-]{0,62}$")]
    public static partial Regex HostName();

    public const string HostNameRule = "1 to 63 characters: lower-case letters, digits, '.', '-'";

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9 ._@:-]{0,99}$")]
    public static partial Regex Label();

    public const string LabelRule = "1 to 100 characters: letters, digits, spaces, '.', '_', '@', ':', '-'";

    [GeneratedRegex(@"^[^@\s]+@[^@\s]+$")]
    public static partial Regex Email();
}
