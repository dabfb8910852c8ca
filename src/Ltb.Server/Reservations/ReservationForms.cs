using Ltb.Server.Api;
using Ltb.Server.Auth;
using Ltb.Server.Data;
using Ltb.Server.Policy;
using Microsoft.EntityFrameworkCore;

namespace Ltb.Server.Reservations;

/// <summary>Why a booking's form was not taken: a 404/403/409 problem or a 400 naming the field.</summary>
public sealed record FormProblem(ProblemHttpResult? Problem, ValidationProblem? Invalid);

/// <summary>
/// A booking's fields applied to a reservation (a new one, or a change of a scheduled one), each checked: the window
/// (in the future, end after start), the template version (one the caller may read; its demand taken as placement
/// counts it), the audience (students book for themselves; members and teams of a group: its instructors and admins).
/// </summary>
public sealed class ReservationForms(LtbDbContext db, IResourceAuthorizer<LabTemplate> templates, ReservationDemand demands, PolicyStore policies,
    TimeProvider clock)
{
    /// <summary>How far in the past a window may start (a booking made "now" reaches the server a moment later).</summary>
    public static readonly TimeSpan StartSlack = TimeSpan.FromMinutes(1);

    public async Task<FormProblem?> ApplyAsync(Caller caller, Reservation r, UpdateReservationRequest change, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var startsAt = change.StartsAt ?? r.StartsAt;
        var endsAt = change.EndsAt ?? r.EndsAt;
        if (startsAt < now - StartSlack)
        {
            return Invalid("startsAt", $"{Shortage.Instant(startsAt)} is in the past (it is {Shortage.Instant(now)})");
        }
        if (endsAt <= startsAt)
        {
            return Invalid("endsAt", "is after startsAt");
        }
        if (Audience(caller, r, change) is { } badAudience)
        {
            return badAudience;
        }
        if (change.TemplateId is not null || change.TemplateVersion is not null || r.TemplateVersion == 0 || change.Audience is not null)
        {
            if (await TemplateAsync(caller, r, change.TemplateId ?? r.TemplateId, change.TemplateVersion, ct) is { } badTemplate)
            {
                return badTemplate;
            }
        }
        var lead = TimeSpan.FromSeconds((await policies.CurrentAsync(ct)).Scheduling.LeadSeconds);
        (r.StartsAt, r.EndsAt, r.BookedEndsAt) = (startsAt, endsAt, endsAt);
        r.SnapshotAtEnd = change.SnapshotAtEnd ?? r.SnapshotAtEnd;
        // Labs deploy `lead` before the start (at once when that is past): they hold capacity from then on.
        r.HoldsFrom = startsAt - lead > now ? startsAt - lead : (startsAt < now ? startsAt : now);
        return null;
    }

    private static FormProblem? Audience(Caller caller, Reservation r, UpdateReservationRequest change)
    {
        if (change.Audience is { } text)
        {
            if (!Enum.TryParse<ReservationAudience>(text, ignoreCase: true, out var audience) || int.TryParse(text, out _))
            {
                return Invalid("audience", "is owner, members (one lab per member of groupId) or teams (one lab per group in teamIds)");
            }
            r.Audience = audience;
            r.GroupId = audience == ReservationAudience.Members ? change.GroupId : null;
            r.TeamIdsJson = ReservationPlan.TeamsJson(audience == ReservationAudience.Teams ? change.TeamIds ?? [] : []);
        }
        if (r.Audience == ReservationAudience.Members)
        {
            if (r.GroupId is not { } group)
            {
                return Invalid("groupId", "names the group whose members get a lab each");
            }
            if (!ReservationAuthorizer.MayBookFor(caller, group))
            {
                return Forbidden("only the group's instructors and admins book labs for its members");
            }
        }
        if (r.Audience == ReservationAudience.Teams)
        {
            var teams = ReservationPlan.Teams(r);
            if (teams.Count == 0)
            {
                return Invalid("teamIds", "lists the groups that get a lab each");
            }
            if (teams.FirstOrDefault(t => !ReservationAuthorizer.MayBookFor(caller, t)) is var refused && refused != Guid.Empty)
            {
                return Forbidden($"only the instructors of team {refused} and admins book a lab for it");
            }
        }
        return null;
    }

    private async Task<FormProblem?> TemplateAsync(Caller caller, Reservation r, Guid templateId, int? number, CancellationToken ct)
    {
        var access = await templates.FindAsync(db, caller, templateId.ToString(), Operation.Read, ct);
        if (access.Denied is { } denied)
        {
            return new FormProblem(denied, null);
        }
        var version = number ?? (templateId == r.TemplateId && r.TemplateVersion > 0 ? r.TemplateVersion : access.Resource!.CurrentVersion);
        var stored = await db.LabTemplateVersions.AsNoTracking().FirstOrDefaultAsync(v => v.TemplateId == templateId && v.Number == version, ct);
        if (stored is null)
        {
            return new FormProblem(Problems.NotFound($"version {version} of template '{access.Resource!.Name}'"), null);
        }
        // Labs for members run with the members' rights: the template must load for a non-admin then.
        var runsAs = r.Audience == ReservationAudience.Members ? caller with { Roles = new HashSet<string>(StringComparer.Ordinal) } : caller;
        var demand = await demands.OfAsync(stored, runsAs, ct);
        if (demand.Errors.Count > 0)
        {
            return new FormProblem(TypedResults.Problem(statusCode: StatusCodes.Status422UnprocessableEntity,
                title: "The template cannot be deployed", detail: string.Join("\n", demand.Errors)), null);
        }
        (r.TemplateId, r.TemplateVersion) = (templateId, version);
        (r.LabCpus, r.LabMemoryBytes, r.KindsJson) = (demand.PerLab.Cpus, demand.PerLab.MemoryBytes, ReservationsEndpoints.KindsJson(demand.Kinds));
        return null;
    }

    private static FormProblem Invalid(string field, string message) => new(null, Problems.Invalid(field, message));

    private static FormProblem Forbidden(string message) => new(Problems.Forbidden(message), null);
}
