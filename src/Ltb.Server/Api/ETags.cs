using Ltb.Server.Data;
using Microsoft.Net.Http.Headers;

namespace Ltb.Server.Api;

/// <summary>
/// ETags against lost updates: a versioned object's ETag is its version ("3"). A write with If-Match that does not
/// match is refused with 412; the matched version also becomes the database's concurrency check, so two writers racing
/// between read and save cannot both win. A write without If-Match is applied (last writer wins, as the client chose).
/// </summary>
public static class ETags
{
    public static string For(long version) => $"\"{version}\"";

    public static void Set(HttpContext context, IVersioned resource) =>
        context.Response.Headers.ETag = For(resource.Version);

    /// <summary>False when If-Match is present and names neither the current version nor "*".</summary>
    public static bool Check(HttpContext context, LtbDbContext db, IVersioned resource)
    {
        var header = context.Request.Headers.IfMatch;
        if (header.Count == 0)
        {
            return true;
        }
        if (!EntityTagHeaderValue.TryParseList(header, out var tags))
        {
            return false;
        }
        foreach (var tag in tags)
        {
            if (tag.Equals(EntityTagHeaderValue.Any))
            {
                return true;
            }
            if (!tag.IsWeak && long.TryParse(tag.Tag.AsSpan(1, tag.Tag.Length - 2), out var version) && version == resource.Version)
            {
                db.Entry(resource).Property(nameof(IVersioned.Version)).OriginalValue = version;
                return true;
            }
        }
        return false;
    }
}
