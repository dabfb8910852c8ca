using System.Text;

namespace Ltb.Runtime.Planning;

/// <summary>
/// Splits a command written as one string (containerlab's `cmd`, `entrypoint`) into an argument vector the way a POSIX
/// shell would split words: quotes and backslashes, nothing else. The words are handed to Docker; no shell runs them.
/// </summary>
public static class ShellWords
{
    public static IReadOnlyList<string> Split(string text, out string? error)
    {
        error = null;
        var words = new List<string>();
        var word = new StringBuilder();
        var inWord = false;
        char? quote = null;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (quote == '\'')
            {
                if (c == '\'') { quote = null; } else { word.Append(c); }
                continue;
            }
            // POSIX: outside quotes a backslash escapes any character; inside double quotes only $ ` " \ and newline,
            // and before anything else it stays a backslash. An escaped newline joins the lines.
            if (c == '\\' && i + 1 < text.Length && (quote is null || text[i + 1] is '$' or '`' or '"' or '\\' or '\n'))
            {
                if (text[++i] != '\n')
                {
                    word.Append(text[i]);
                    inWord = true;
                }
                continue;
            }
            if (quote == '"')
            {
                if (c == '"') { quote = null; } else { word.Append(c); }
                continue;
            }
            if (c is '\'' or '"')
            {
                quote = c;
                inWord = true;
            }
            else if (char.IsWhiteSpace(c))
            {
                if (inWord)
                {
                    words.Add(word.ToString());
                    word.Clear();
                    inWord = false;
                }
            }
            else
            {
                word.Append(c);
                inWord = true;
            }
        }
        if (quote is not null)
        {
            error = $"the quote {quote} is not closed";
        }
        if (inWord)
        {
            words.Add(word.ToString());
        }
        return words;
    }
}
