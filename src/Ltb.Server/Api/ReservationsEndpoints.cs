using System.Text.Json;
using Ltb.Server.Audit;
using Ltb.Server.Auth;
using Ltb.Server.Data;
using Ltb.Server.Labs;
using Ltb.Server.Labs.Placement;
using Ltb.Server.Policy;
using Ltb.Server.Reservations;
using Microsoft.EntityFrameworkCore;

namespace Ltb.Server.Api;

/// <summary>/api/v1/reservations: templates booked for a window (docs/api.md "Reservations"). Access: <see cref="ReservationAuthorizer"/>.</summary>
public static class ReservationsEndpoints
{
    private const string What = "reservation";

    public static RouteGroupBuilder MapReservationsEndpoints(this RouteGroupBuilder api)
    {
        var r = api.MapGroup("/reservations").WithTags("Reservations");
        r.MapGet("/", ListAsync).WithName("ListReservations")
            .WithSummary("Reservations one may see: scope=mine (default: one's own and one's groups'), groups, or all (admins)");
        r.MapGet("/{id:guid}", Get).WithName("GetReservation").WithSummary("One reservation with its plan");
        r.MapPost("/", CreateAsync).WithName("CreateReservation")
            .WithSummary("Book a template for a window (409 naming what is short, where and when, with the nearest window that fits; dryRun=true: 200 with the plan, nothing booked)");
        r.MapPatch("/{id:guid}", UpdateAsync).WithName("UpdateReservation")
            .WithSummary("Change a scheduled reservation (admitted again; dryRun=true: 200 with the plan, nothing changed)");
        r.MapPost("/{id:guid}/extend", ExtendAsync).WithName("ExtendReservation")
            .WithSummary("Move the end of a scheduled or active reservation later, when capacity allows, up to the policy's maximum");
        r.MapDelete("/{id:guid}", CancelAsync).WithName("CancelReservation")
            .WithSummary("Cancel a reservation (its deployed labs are removed)");
        return api;
    }

    private static async Task<Results<Ok<Paged<ReservationDto>>, ProblemHttpResult, ValidationProblem>> ListAsync(Caller caller,
        LtbDbContext db, IResourceAuthorizer<Reservation> authz, string? scope, [AsParameters] PageQuery paging, CancellationToken ct)
    {
        var query = authz.Visible(db.Reservations.AsNoTracking().Include(r => r.Owner), caller);
        var groups = caller.GroupIds.ToList();
        switch (scope)
        {
            case null or "":
                query = query.Where(r => r.OwnerId == caller.UserId || (r.GroupId != null && groups.Contains(r.GroupId.Value)));
                break;
            case "mine":
                query = query.Where(r => r.OwnerId == caller.UserId);
                break;
            case "groups":
                query = query.Where(r => r.GroupId != null && groups.Contains(r.GroupId.Value));
                break;
            case "all" when caller.IsAdmin:
                break;
            case "all":
                return Problems.Forbidden("only admins list every reservation (scope=all)");
            default:
                return Problems.Invalid("scope", "is mine, groups or all");
        }
        var page = await query.OrderBy(r => r.StartsAt).ThenBy(r => r.Id).ToPageAsync(paging.Request, r => r, ct);
        var templates = await TemplateNamesAsync(db, page.Items.Select(r => r.TemplateId), ct);
        var hosts = await db.LabHosts.AsNoTracking().ToDictionaryAsync(h => h.Id, h => h.Name, ct);
        return TypedResults.Ok(new Paged<ReservationDto>([.. page.Items.Select(r => ToDto(r, templates, hosts))], page.Page, page.PageSize, page.Total));
    }

    private static async Task<Results<Ok<ReservationDto>, ProblemHttpResult>> Get([For(Operation.Read)] Authorized<Reservation> r, LtbDbContext db,
        CancellationToken ct) =>
        TypedResults.Ok(await DtoAsync(db, r.Value, ct));

    [Requires<Reservation>(Operation.Create)]
    private static async Task<Results<Created<ReservationDto>, Ok<ReservationDto>, ProblemHttpResult, ValidationProblem>> CreateAsync(
        CreateReservationRequest request, Caller caller, LtbDbContext db, ReservationForms forms, ReservationBook book, AuditLog audit,
        TimeProvider clock, bool? dryRun, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var r = new Reservation { Id = Guid.NewGuid(), Name = request.Name ?? "", OwnerId = caller.UserId, CreatedAt = now, UpdatedAt = now };
        var change = new UpdateReservationRequest(request.StartsAt, request.EndsAt, request.TemplateId, request.TemplateVersion,
            request.Audience ?? "owner", request.GroupId, request.TeamIds, request.SnapshotAtEnd);
        if (!LabNames.Valid().IsMatch(r.Name))
        {
            return Problems.Invalid("name", $"'{r.Name}' is not a valid name ({LabNames.Rule}); it names the labs");
        }
        await using var placementLock = await PlacementLock.AcquireAsync(db, ct);
        if (await forms.ApplyAsync(caller, r, change, ct) is { } invalid)
        {
            return invalid.Problem is not null ? invalid.Problem : invalid.Invalid!;
        }
        if (await book.AdmitAsync(caller, r, ct) is { } refused)
        {
            return refused;
        }
        if (dryRun == true)
        {
            // The capacity answer before confirming (the web UI's booking form): the plan it would get, nothing saved; the
            // lock's transaction ends uncommitted.
            return TypedResults.Ok(await DtoAsync(db, r, ct));
        }
        db.Reservations.Add(r);
        audit.Record(AuditActions.Created, What, r.Id, $"{r.Name} {Shortage.Instant(r.StartsAt)}-{Shortage.Instant(r.EndsAt)}");
        await db.SaveChangesAsync(ct);
        await placementLock.CommitAsync(ct);
        return TypedResults.Created($"/api/v1/reservations/{r.Id}", await DtoAsync(db, r, ct));
    }

    private static async Task<Results<Ok<ReservationDto>, ProblemHttpResult, ValidationProblem>> UpdateAsync(
        [For(Operation.Update)] Authorized<Reservation> authorized, UpdateReservationRequest request, Caller caller, LtbDbContext db,
        ReservationForms forms, ReservationBook book, AuditLog audit, TimeProvider clock, bool? dryRun, CancellationToken ct)
    {
        var r = authorized.Value;
        if (r.State != ReservationState.Scheduled)
        {
            return Problems.Conflict($"reservation '{r.Name}' is {Name(r.State)}; only a scheduled one changes (extend an active one)");
        }
        await using var placementLock = await PlacementLock.AcquireAsync(db, ct);
        await db.Entry(r).ReloadAsync(ct); // what another request changed before this one took the lock
        if (await forms.ApplyAsync(caller, r, request, ct) is { } invalid)
        {
            return invalid.Problem is not null ? invalid.Problem : invalid.Invalid!;
        }
        if (await book.AdmitAsync(caller, r, ct) is { } refused)
        {
            return refused;
        }
        if (dryRun == true)
        {
            return TypedResults.Ok(await DtoAsync(db, r, ct)); // changed in memory only: nothing is saved
        }
        r.UpdatedAt = clock.GetUtcNow();
        audit.Record(AuditActions.Updated, What, r.Id, $"{r.Name} {Shortage.Instant(r.StartsAt)}-{Shortage.Instant(r.EndsAt)}");
        await db.SaveChangesAsync(ct);
        await placementLock.CommitAsync(ct);
        return TypedResults.Ok(await DtoAsync(db, r, ct));
    }

    private static async Task<Results<Ok<ReservationDto>, ProblemHttpResult, ValidationProblem>> ExtendAsync(
        [For(Operation.Update)] Authorized<Reservation> authorized, ExtendReservationRequest request, Caller caller, LtbDbContext db,
        ReservationBook book, PolicyStore policies, AuditLog audit, TimeProvider clock, CancellationToken ct)
    {
        var r = authorized.Value;
        await using var placementLock = await PlacementLock.AcquireAsync(db, ct);
        await db.Entry(r).ReloadAsync(ct);
        if (r.State is not (ReservationState.Scheduled or ReservationState.Active))
        {
            return Problems.Conflict($"reservation '{r.Name}' is {Name(r.State)}; only a scheduled or active one is extended");
        }
        var max = (await policies.CurrentAsync(ct)).Scheduling.MaxExtensionMinutes;
        var limit = r.BookedEndsAt.AddMinutes(max);
        if (request.EndsAt <= r.EndsAt)
        {
            return Problems.Invalid("endsAt", $"is after the reservation's end ({Shortage.Instant(r.EndsAt)})");
        }
        if (request.EndsAt > limit && !caller.IsAdmin)
        {
            return Problems.Conflict($"reservation '{r.Name}' may end at the latest at {Shortage.Instant(limit)} " +
                $"({max} minutes after its booked end, the policy's scheduling.maxExtensionMinutes)");
        }
        if (await book.AdmitExtensionAsync(r, request.EndsAt, ct) is { } refused)
        {
            return refused;
        }
        r.Extensions++;
        r.WarnedAt = null; // the users are warned again before the new end
        r.UpdatedAt = clock.GetUtcNow();
        audit.Record("reservation.extend", What, r.Id, $"{r.Name} until {Shortage.Instant(r.EndsAt)}");
        await db.SaveChangesAsync(ct);
        await placementLock.CommitAsync(ct);
        return TypedResults.Ok(await DtoAsync(db, r, ct));
    }

    private static async Task<Results<Ok<ReservationDto>, ProblemHttpResult>> CancelAsync([For(Operation.Delete)] Authorized<Reservation> authorized,
        Caller caller, LtbDbContext db, ReservationScheduler scheduler, AuditLog audit, CancellationToken ct)
    {
        var r = authorized.Value;
        if (r.State is ReservationState.Ended or ReservationState.Cancelled)
        {
            return Problems.Conflict($"reservation '{r.Name}' is {Name(r.State)} already");
        }
        // Claimed like a scheduler step: a start or an end running at the same moment sees the new state and stops.
        if (!await scheduler.EndAsync(db, r.Id, ReservationState.Cancelled, $"cancelled by {caller.UserName}", ct))
        {
            return Problems.Conflict($"reservation '{r.Name}' ended or was cancelled meanwhile");
        }
        audit.Record("reservation.cancel", What, r.Id, r.Name);
        await db.SaveChangesAsync(ct);
        await db.Entry(r).ReloadAsync(ct);
        return TypedResults.Ok(await DtoAsync(db, r, ct));
    }

    // ------------------------------------------------------------------ views

    public static string Name(ReservationState s) => s.ToString().ToLowerInvariant();

    public static async Task<ReservationDto> DtoAsync(LtbDbContext db, Reservation r, CancellationToken ct)
    {
        r.Owner ??= await db.Users.AsNoTracking().FirstOrDefaultAsync(u => u.Id == r.OwnerId, ct);
        var hosts = await db.LabHosts.AsNoTracking().ToDictionaryAsync(h => h.Id, h => h.Name, ct);
        return ToDto(r, await TemplateNamesAsync(db, [r.TemplateId], ct), hosts);
    }

    private static Task<Dictionary<Guid, string>> TemplateNamesAsync(LtbDbContext db, IEnumerable<Guid> ids, CancellationToken ct)
    {
        var list = ids.Distinct().ToList();
        return db.LabTemplates.AsNoTracking().Where(t => list.Contains(t.Id)).ToDictionaryAsync(t => t.Id, t => t.Name, ct);
    }

    private static ReservationDto ToDto(Reservation r, IReadOnlyDictionary<Guid, string> templates, IReadOnlyDictionary<Guid, string> hosts) => new(
        r.Id, r.Name, r.OwnerId, r.Owner?.UserName ?? "", r.TemplateId, templates.GetValueOrDefault(r.TemplateId, ""), r.TemplateVersion,
        r.StartsAt, r.EndsAt, r.Audience.ToString().ToLowerInvariant(), r.GroupId, ReservationPlan.Teams(r), Name(r.State), r.LabCpus,
        r.LabMemoryBytes,
        [.. ReservationPlan.Parse(r.PlanJson).Select(p => new ReservationLabDto(p.Recipient, p.RecipientId, p.HostId,
            hosts.GetValueOrDefault(p.HostId, "(removed)"), p.LabId))],
        r.Extensions, r.Notice, r.CreatedAt, r.UpdatedAt, r.Version, r.SnapshotAtEnd);

    internal static string KindsJson(IEnumerable<string> kinds) => JsonSerializer.Serialize(kinds.ToList());
}
