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

    private static async Task<Results<Ok<Paged<AuditEntryDto>>, ProblemHttpResult, ValidationProblem>> ListAsync(Caller caller,
        LtbDbContext db, IResourceAuthorizer<AuditEntry> authz, string? action, string? objectType, string? objectId,
        Guid? actorId, int? page, int? pageSize, CancellationToken ct)
    {
        if (authz.Refuse(caller, Operation.Read, "audit entry") is { } refused)
        {
            return refused;
        }
        var (request, error) = PageRequest.From(page, pageSize);
        if (request is not { } paging)
        {
            return Problems.Invalid("page", error!);
        }
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
        return TypedResults.Ok(await query.OrderByDescending(a => a.Id).ToPageAsync(paging,
            a => new AuditEntryDto(a.Id, a.At, a.ActorId, a.ActorName, a.Action, a.ObjectType, a.ObjectId, a.Detail, a.RemoteAddress),
            ct));
    }
}
