using Ltb.Server.Auth;
using Ltb.Server.Data;

namespace Ltb.Server.Api;

/// <summary>/api/v1/audit: the audit log, newest first. Access rules: <see cref="AuditAuthorizer"/> (admins).</summary>
public static class AuditEndpoints
{
    public static RouteGroupBuilder MapAuditEndpoints(this RouteGroupBuilder api)
    {
        api.MapGet("/audit", ListAsync).WithName("ListAuditEntries").WithTags("Audit")
            .WithSummary("The audit log, newest first (filters: action, objectType, objectId, actorId) (admin)");
        return api;
    }

    [Requires<AuditEntry>(Operation.Read)]
    private static async Task<Results<Ok<Paged<AuditEntryDto>>, ProblemHttpResult, ValidationProblem>> ListAsync(Caller caller,
        LtbDbContext db, IResourceAuthorizer<AuditEntry> authz, string? action, string? objectType, string? objectId,
        Guid? actorId, [AsParameters] PageQuery paging, CancellationToken ct)
    {
        var query = authz.Visible(db.AuditEntries, caller);
        if (action is not null)
        {
            query = query.Where(a => a.Action == action);
        }
        if (objectType is not null)
        {
            query = query.Where(a => a.ObjectType == objectType);
        }
        if (objectId is not null)
        {
            query = query.Where(a => a.ObjectId == objectId);
        }
        if (actorId is not null)
        {
            query = query.Where(a => a.ActorId == actorId);
        }
        return TypedResults.Ok(await query.OrderByDescending(a => a.Id).ToPageAsync(paging.Request,
            a => new AuditEntryDto(a.Id, a.At, a.ActorId, a.ActorName, a.Action, a.ObjectType, a.ObjectId, a.Detail, a.RemoteAddress),
            ct));
    }
}
