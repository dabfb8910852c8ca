using Ltb.Server.Audit;
using Ltb.Server.Auth;
using Ltb.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace Ltb.Server.Api;

/// <summary>/api/v1/groups: courses and teams, and their members. Access rules: <see cref="GroupAuthorizer"/>.</summary>
public static class GroupsEndpoints
{
    private const string What = "group";

    public static RouteGroupBuilder MapGroupsEndpoints(this RouteGroupBuilder api)
    {
        var groups = api.MapGroup("/groups").WithTags("Groups");
        groups.MapGet("/", ListAsync).WithName("ListGroups").WithSummary("List the groups one may see (filter: q = part of the name)");
        groups.MapPost("/", CreateAsync).WithName("CreateGroup").WithSummary("Create a group (admin, instructor: the instructor becomes a member)");
        groups.MapGet("/{id:guid}", GetAsync).WithName("GetGroup").WithSummary("One group; the ETag is its version");
        groups.MapPatch("/{id:guid}", UpdateAsync).WithName("UpdateGroup").WithSummary("Rename or describe a group (If-Match)");
        groups.MapDelete("/{id:guid}", DeleteAsync).WithName("DeleteGroup").WithSummary("Delete a group (its members keep their accounts)");
        groups.MapGet("/{id:guid}/members", ListMembersAsync).WithName("ListGroupMembers").WithSummary("The members of a group");
        groups.MapPut("/{id:guid}/members/{user}", AddMemberAsync).WithName("AddGroupMember").WithSummary("Add a user (id or user name) to a group");
        groups.MapDelete("/{id:guid}/members/{user}", RemoveMemberAsync).WithName("RemoveGroupMember").WithSummary("Remove a user (id or user name) from a group");
        return api;
    }

    private static GroupDto ToDto(Group g, int members) => new(g.Id, g.Name, g.Description, members, g.CreatedAt, g.Version);

    [Requires<Group>(Operation.Read)]
    private static async Task<Results<Ok<Paged<GroupDto>>, ProblemHttpResult, ValidationProblem>> ListAsync(Caller caller,
        LtbDbContext db, IResourceAuthorizer<Group> authz, string? q, [AsParameters] PageQuery paging, CancellationToken ct)
    {
        var query = authz.Visible(db.Groups, caller);
        if (!string.IsNullOrWhiteSpace(q))
        {
            var needle = q.Trim().ToLowerInvariant();
            query = query.Where(g => g.Name.ToLower().Contains(needle));
        }
        var result = await query.OrderBy(g => g.Name).Select(g => new { Group = g, Members = g.Members.Count })
            .ToPageAsync(paging.Request, x => ToDto(x.Group, x.Members), ct);
        return TypedResults.Ok(result);
    }

    [Requires<Group>(Operation.Create)]
    private static async Task<Results<Created<GroupDto>, ProblemHttpResult, ValidationProblem>> CreateAsync(
        CreateGroupRequest request, Caller caller, LtbDbContext db, AuditLog audit, HttpContext http, CancellationToken ct)
    {
        var v = new Validation()
            .Require("name", request.Name, Validation.GroupName(), Validation.GroupNameRule)
            .MaxLength("description", request.Description, 2000);
        if (!v.IsValid)
        {
            return Problems.Invalid(v.Errors);
        }
        if (await db.Groups.AnyAsync(g => g.Name == request.Name, ct))
        {
            return Problems.Conflict($"a group named '{request.Name}' exists already");
        }
        var now = DateTimeOffset.UtcNow;
        var group = new Group { Id = Guid.NewGuid(), Name = request.Name, Description = request.Description ?? "", CreatedAt = now };
        db.Groups.Add(group);
        // The instructor who creates a group teaches it: membership is what lets them manage it.
        if (!caller.IsAdmin)
        {
            db.GroupMembers.Add(new GroupMember { GroupId = group.Id, UserId = caller.UserId, AddedAt = now });
        }
        audit.Record(AuditActions.Created, What, group.Id, group.Name);
        await db.SaveChangesAsync(ct);
        ETags.Set(http, group);
        return TypedResults.Created($"/api/v1/groups/{group.Id}", ToDto(group, caller.IsAdmin ? 0 : 1));
    }

    private static async Task<Results<Ok<GroupDto>, ProblemHttpResult>> GetAsync([For(Operation.Read)] Authorized<Group> group,
        LtbDbContext db, HttpContext http, CancellationToken ct)
    {
        var g = group.Value;
        ETags.Set(http, g);
        return TypedResults.Ok(ToDto(g, await db.GroupMembers.CountAsync(m => m.GroupId == g.Id, ct)));
    }

    private static async Task<Results<Ok<GroupDto>, ProblemHttpResult, ValidationProblem>> UpdateAsync(
        [For(Operation.Update)] Authorized<Group> authorized, UpdateGroupRequest request, LtbDbContext db, AuditLog audit,
        HttpContext http, CancellationToken ct)
    {
        var group = authorized.Value;
        var v = new Validation().MaxLength("description", request.Description, 2000);
        if (request.Name is not null)
        {
            v.Require("name", request.Name, Validation.GroupName(), Validation.GroupNameRule);
        }
        if (!v.IsValid)
        {
            return Problems.Invalid(v.Errors);
        }
        if (!ETags.Check(http, db, group))
        {
            return Problems.PreconditionFailed();
        }
        if (request.Name is not null && request.Name != group.Name && await db.Groups.AnyAsync(g => g.Name == request.Name, ct))
        {
            return Problems.Conflict($"a group named '{request.Name}' exists already");
        }
        group.Name = request.Name ?? group.Name;
        group.Description = request.Description ?? group.Description;
        audit.Record(AuditActions.Updated, What, group.Id, group.Name);
        await db.SaveChangesAsync(ct);
        ETags.Set(http, group);
        return TypedResults.Ok(ToDto(group, await db.GroupMembers.CountAsync(m => m.GroupId == group.Id, ct)));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync([For(Operation.Delete)] Authorized<Group> group,
        LtbDbContext db, AuditLog audit, CancellationToken ct)
    {
        db.Groups.Remove(group.Value);
        audit.Record(AuditActions.Deleted, What, group.Value.Id, group.Value.Name);
        await db.SaveChangesAsync(ct);
        return TypedResults.NoContent();
    }

    private static async Task<Results<Ok<Paged<MemberDto>>, ProblemHttpResult, ValidationProblem>> ListMembersAsync(
        [For(Operation.Read)] Authorized<Group> group, [AsParameters] PageQuery paging, LtbDbContext db, CancellationToken ct)
    {
        var id = group.Value.Id;
        var result = await db.GroupMembers.Where(m => m.GroupId == id).OrderBy(m => m.User!.UserName)
            .Select(m => new MemberDto(m.UserId, m.User!.UserName!, m.User.DisplayName, m.AddedAt))
            .ToPageAsync(paging.Request, m => m, ct);
        return TypedResults.Ok(result);
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> AddMemberAsync(
        [For(Operation.ManageMembers)] Authorized<Group> group, string user, LtbDbContext db, AuditLog audit, CancellationToken ct)
    {
        var id = group.Value.Id;
        // Managers of a group add people who are not in it yet, so the lookup is not narrowed to visible users.
        var member = await FindUserAsync(db, user, ct);
        if (member is null)
        {
            return Problems.NotFound("user");
        }
        if (!await db.GroupMembers.AnyAsync(m => m.GroupId == id && m.UserId == member.Id, ct))
        {
            db.GroupMembers.Add(new GroupMember { GroupId = id, UserId = member.Id, AddedAt = DateTimeOffset.UtcNow });
            audit.Record(AuditActions.MemberAdded, What, id, member.UserName);
            await db.SaveChangesAsync(ct);
        }
        return TypedResults.NoContent();
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> RemoveMemberAsync(
        [For(Operation.ManageMembers)] Authorized<Group> group, string user, LtbDbContext db, AuditLog audit, CancellationToken ct)
    {
        var id = group.Value.Id;
        var member = await FindUserAsync(db, user, ct);
        var membership = member is null
            ? null
            : await db.GroupMembers.FirstOrDefaultAsync(m => m.GroupId == id && m.UserId == member.Id, ct);
        if (membership is null)
        {
            return Problems.NotFound("member");
        }
        db.GroupMembers.Remove(membership);
        audit.Record(AuditActions.MemberRemoved, What, id, member!.UserName);
        await db.SaveChangesAsync(ct);
        return TypedResults.NoContent();
    }

    private static Task<LtbUser?> FindUserAsync(LtbDbContext db, string user, CancellationToken ct) =>
        Guid.TryParse(user, out var userId)
            ? db.Users.FirstOrDefaultAsync(u => u.Id == userId, ct)
            : db.Users.FirstOrDefaultAsync(u => u.UserName == user, ct);
}
