using System.Text;

namespace Ltb.Topology.Variables;

/// <summary>
/// containerlab's variable substitution in topology values: `${VAR}`, `${VAR:-default}` (default when unset or
/// empty), `${VAR:=default}` (the same, and later uses of VAR see the default), `${VAR-default}` / `${VAR=default}`
/// (default only when unset), and `$$` for a literal `$`. A bare `$VAR` is left alone, so shell text in `exec`
/// keeps its own variables. Quotes around a default are removed as a shell would (`${P:=""}` is empty).
/// Substitution works on parsed YAML values, never on the raw text, so positions stay exact and a variable cannot
/// inject YAML structure.
/// </summary>
public sealed class EnvSubstitution(IReadOnlyDictionary<string, string> environment)
{
    private readonly Dictionary<string, string> _assigned = new(StringComparer.Ordinal);

    /// <summary>Expands <paramref name="input"/>; on a malformed reference returns null and says why in <paramref name="error"/>.</summary>
    public string? Expand(string input, out string? error)
    {
        error = null;
        if (!input.Contains('$', StringComparison.Ordinal))
        {
            return input;
        }
        var output = new StringBuilder(input.Length);
        for (var i = 0; i < input.Length; i++)
        {
            var c = input[i];
            if (c != '$' || i + 1 >= input.Length)
            {
                output.Append(c);
                continue;
            }
            var next = input[i + 1];
            if (next == '$')
            {
                output.Append('$');
                i++;
                continue;
            }
            if (next != '{')
            {
                output.Append(c);
                continue;
            }
            var close = input.IndexOf('}', i + 2);
            if (close < 0)
            {
                error = $"the variable reference at character {i + 1} has no closing '}}'; write ${{NAME}} or $$ for a literal $";
                return null;
            }
            var body = input[(i + 2)..close];
            var value = Resolve(body, out error);
            if (value is null)
            {
                return null;
            }
            output.Append(value);
            i = close;
        }
        return output.ToString();
    }

    private string? Resolve(string body, out string? error)
    {
        error = null;
        var nameLength = 0;
        while (nameLength < body.Length && (char.IsAsciiLetterOrDigit(body[nameLength]) || body[nameLength] == '_'))
        {
            nameLength++;
        }
        var name = body[..nameLength];
        if (name.Length == 0 || char.IsAsciiDigit(name[0]))
        {
            error = $"'${{{body}}}' is not a variable reference; a name starts with a letter or '_' and holds letters, digits and '_'";
            return null;
        }
        var current = Lookup(name);
        var rest = body[nameLength..];
        if (rest.Length == 0)
        {
            return current ?? "";
        }
        var emptyCounts = rest.StartsWith(':');
        var op = emptyCounts ? rest.Length > 1 ? rest[1] : '\0' : rest[0];
        // "${NAME:}" has no operator: the word starts past the end (the switch below names the unsupported operator).
        var word = Unquote(rest[Math.Min(rest.Length, emptyCounts ? 2 : 1)..]);
        var useDefault = current is null || (emptyCounts && current.Length == 0);
        switch (op)
        {
            case '-':
                return useDefault ? word : current;
            case '=':
                if (useDefault)
                {
                    _assigned[name] = word;
                    return word;
                }
                return current;
            default:
                error = $"'${{{body}}}' uses an unsupported operator; supported: ${{NAME}}, ${{NAME:-default}}, ${{NAME:=default}}, ${{NAME-default}}, ${{NAME=default}}";
                return null;
        }
    }

    private string? Lookup(string name) =>
        _assigned.TryGetValue(name, out var v) ? v : environment.TryGetValue(name, out var e) ? e : null;

    private static string Unquote(string word) =>
        word.Length >= 2 && (word[0] == '"' || word[0] == '\'') && word[^1] == word[0] ? word[1..^1] : word;
}
