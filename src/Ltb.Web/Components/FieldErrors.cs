using Ltb.Client;

namespace Ltb.Web.Components;

/// <summary>
/// A validation problem's messages by field, for showing each under its form field: Ltb.Client words a problem with field
/// errors as "field: message; other: message [HTTP 400]".
/// </summary>
public static class FieldErrors
{
    public static string? Of(LtbApiException e, string field)
    {
        var text = e.Message;
        if (text.LastIndexOf(" [HTTP ", StringComparison.Ordinal) is var end and > 0)
        {
            text = text[..end];
        }
        var mine = text.Split("; ").Where(p => p.StartsWith(field + ": ", StringComparison.OrdinalIgnoreCase))
            .Select(p => p[(field.Length + 2)..]).ToList();
        return mine.Count == 0 ? null : string.Join("; ", mine);
    }
}
