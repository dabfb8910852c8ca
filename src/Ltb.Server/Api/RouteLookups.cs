using Ltb.Server.Auth;
using Ltb.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace Ltb.Server.Api;

/// <summary>
/// How an endpoint finds a resource from its route value, and what problems call it ("no such group"): one entry per
/// resource type, used by <see cref="Authorized{T}"/>, <see cref="RequiresAttribute{T}"/> and the few handlers that look
/// a resource up themselves.
/// </summary>
public sealed record RouteLookup<T>(string What, string? RouteKey, Func<LtbDbContext, Caller, string, IQueryable<T>?>? Find)
    where T : class;

public static class RouteLookups
{
    private static readonly Dictionary<Type, object> Table = new object[]
    {
        ById("user", (db, id) => db.Users.Where(u => u.Id == id)),
        ById("group", (db, id) => db.Groups.Where(g => g.Id == id)),
        // A revoked token is gone for everyone (its row stays for the audit trail).
        ById("token", (db, id) => db.ApiTokens.Where(t => t.RevokedAt == null && t.Id == id)),
        ById("SSH key", (db, id) => db.SshKeys.Where(k => k.Id == id)),
        ById("host", (db, id) => db.LabHosts.Where(h => h.Id == id)),
        ById("host token", (db, id) => db.HostTokens.Where(t => t.Id == id)),
        ById("template", (db, id) => db.LabTemplates.Include(t => t.Owner).Include(t => t.Tags).Where(t => t.Id == id)),
        // `{lab}` is the lab's id (any lab the caller may see) or the name of one of the caller's own labs.
        new RouteLookup<Lab>("lab", "lab", (db, caller, lab) => Guid.TryParse(lab, out var id)
            ? db.Labs.Where(l => l.Id == id)
            : db.Labs.Where(l => l.State != LabLifecycle.Removed && l.OwnerId == caller.UserId && l.Name == lab)),
        ById("VM image", (db, id) => db.VmImages.Where(i => i.Id == id)),
        new RouteLookup<StoredSnapshot>("snapshot", "snapshot", (db, _, value) =>
            Guid.TryParse(value, out var id) ? db.Snapshots.Include(s => s.Owner).Where(s => s.Id == id) : null),
        ById("reservation", (db, id) => db.Reservations.Include(r => r.Owner).Where(r => r.Id == id)),
        // Checked as a collection only (no route value names one of them).
        new RouteLookup<AuditEntry>("audit entry", null, null),
        new RouteLookup<StoredNodeType>("node type", null, null),
        new RouteLookup<ServerSetting>("policy", null, null),
    }.ToDictionary(lookup => lookup.GetType().GetGenericArguments()[0]);

    public static RouteLookup<T> For<T>()
        where T : class =>
        Table.TryGetValue(typeof(T), out var lookup)
            ? (RouteLookup<T>)lookup
            : throw new InvalidOperationException($"no route lookup for {typeof(T).Name}: add one to {nameof(RouteLookups)}");

    /// <summary>
    /// The resource a route value names, among those the caller may see, checked for the operation: 404 when there is
    /// none (or the value is not of its form), 403 when the operation is refused.
    /// </summary>
    public static async Task<Access<T>> FindAsync<T>(this IResourceAuthorizer<T> authorizer, LtbDbContext db, Caller caller,
        string routeValue, Operation operation, CancellationToken ct)
        where T : class
    {
        var lookup = For<T>();
        var find = lookup.Find ?? throw new InvalidOperationException($"{typeof(T).Name} is not looked up by a route value");
        var query = find(db, caller, routeValue);
        var resource = query is null ? null : await authorizer.Visible(query, caller).FirstOrDefaultAsync(ct);
        return authorizer.Check(resource, caller, operation, lookup.What);
    }

    private static RouteLookup<T> ById<T>(string what, Func<LtbDbContext, Guid, IQueryable<T>> find)
        where T : class =>
        new(what, "id", (db, _, value) => Guid.TryParse(value, out var id) ? find(db, id) : null);
}
