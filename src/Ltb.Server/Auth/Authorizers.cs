using Ltb.Server.Data;

namespace Ltb.Server.Auth;

// One authorizer per resource: the access rules of the API, read in one screen. Labs and templates (later issues)
// add theirs here with the same two questions: what may the caller see, and what may they do with it.

/// <summary>
/// Users: admins see and manage everyone. Instructors see the members of their groups (to manage those groups).
/// Everyone sees themselves. Only admins create, update, delete users or reset passwords (self-service is under /me).
/// </summary>
public sealed class UserAuthorizer : IResourceAuthorizer<LtbUser>
{
    public IQueryable<LtbUser> Visible(IQueryable<LtbUser> source, Caller caller)
    {
        if (caller.IsAdmin)
        {
            return source;
        }
        if (caller.IsInstructor)
        {
            var groups = caller.GroupIds.ToList();
            return source.Where(u => u.Id == caller.UserId || u.Memberships.Any(m => groups.Contains(m.GroupId)));
        }
        return source.Where(u => u.Id == caller.UserId);
    }

    public bool Allows(Caller caller, Operation operation, LtbUser? resource) => operation switch
    {
        Operation.Read => true,
        _ => caller.IsAdmin,
    };
}

/// <summary>
/// Groups: admins see and manage all. Members see their groups. Instructors create groups and manage the groups they
/// are members of (details, members, deletion); students only read.
/// </summary>
public sealed class GroupAuthorizer : IResourceAuthorizer<Group>
{
    public IQueryable<Group> Visible(IQueryable<Group> source, Caller caller)
    {
        if (caller.IsAdmin)
        {
            return source;
        }
        var groups = caller.GroupIds.ToList();
        return source.Where(g => groups.Contains(g.Id));
    }

    public bool Allows(Caller caller, Operation operation, Group? resource) => operation switch
    {
        Operation.Read => true,
        Operation.Create => caller.IsAdmin || caller.IsInstructor,
        Operation.Update or Operation.Delete or Operation.ManageMembers =>
            caller.IsAdmin || (caller.IsInstructor && resource is not null && caller.IsMemberOf(resource.Id)),
        _ => false,
    };
}

/// <summary>API tokens: one's own only; admins also see and revoke anyone's (incident response).</summary>
public sealed class ApiTokenAuthorizer : IResourceAuthorizer<ApiToken>
{
    public IQueryable<ApiToken> Visible(IQueryable<ApiToken> source, Caller caller) =>
        caller.IsAdmin ? source : source.Where(t => t.UserId == caller.UserId);

    public bool Allows(Caller caller, Operation operation, ApiToken? resource) => operation switch
    {
        Operation.Read or Operation.Delete => true,
        // Tokens are created for oneself only (the endpoint sets the owner): nobody mints tokens for others.
        Operation.Create => true,
        _ => false,
    };
}

/// <summary>SSH keys: one's own; admins see and remove anyone's.</summary>
public sealed class SshKeyAuthorizer : IResourceAuthorizer<SshKey>
{
    public IQueryable<SshKey> Visible(IQueryable<SshKey> source, Caller caller) =>
        caller.IsAdmin ? source : source.Where(k => k.UserId == caller.UserId);

    public bool Allows(Caller caller, Operation operation, SshKey? resource) => operation switch
    {
        Operation.Read or Operation.Create or Operation.Delete => true,
        _ => false,
    };
}

/// <summary>Lab hosts: everyone signed in reads them (capacity, state); only admins manage them.</summary>
public sealed class LabHostAuthorizer : IResourceAuthorizer<LabHost>
{
    public IQueryable<LabHost> Visible(IQueryable<LabHost> source, Caller caller) => source;

    /// <summary>Everyone reads hosts and may name one for a new lab (whether it is in service is the placement's check); admins change them.</summary>
    public bool Allows(Caller caller, Operation operation, LabHost? resource) =>
        operation is Operation.Read or Operation.PlaceLabs || caller.IsAdmin;
}

/// <summary>Host tokens (what `ltb agent` registers with): admins only, for every operation.</summary>
public sealed class HostTokenAuthorizer : IResourceAuthorizer<HostToken>
{
    public IQueryable<HostToken> Visible(IQueryable<HostToken> source, Caller caller) =>
        caller.IsAdmin ? source : source.Where(_ => false);

    public bool Allows(Caller caller, Operation operation, HostToken? resource) => caller.IsAdmin;
}

/// <summary>The audit log: admins only.</summary>
public sealed class AuditAuthorizer : IResourceAuthorizer<AuditEntry>
{
    public IQueryable<AuditEntry> Visible(IQueryable<AuditEntry> source, Caller caller) =>
        caller.IsAdmin ? source : source.Where(_ => false);

    public bool Allows(Caller caller, Operation operation, AuditEntry? resource) =>
        operation == Operation.Read && caller.IsAdmin;
}

/// <summary>
/// Labs: the owner does everything with their lab; admins with every lab. A lab shared with a group (its GroupId) is
/// read by the group's members, instructors included (to follow their students); only owner and admins operate it
/// (exec, node and link operations, consoles, destroy). The group's instructors may also watch its consoles read-only
/// (to help their students); students of the group may not. Anyone signed in deploys labs of their own. Tasks are
/// visible with their lab.
/// </summary>
public sealed class LabAuthorizer : IResourceAuthorizer<Lab>
{
    public IQueryable<Lab> Visible(IQueryable<Lab> source, Caller caller)
    {
        if (caller.IsAdmin)
        {
            return source;
        }
        var groups = caller.GroupIds.ToList();
        return source.Where(l => l.OwnerId == caller.UserId || (l.GroupId != null && groups.Contains(l.GroupId.Value)));
    }

    /// <summary><see cref="Visible"/> for a lab in memory (a cached status read): keep the two the same rule.</summary>
    public static bool Sees(Caller caller, Lab lab) =>
        caller.IsAdmin || lab.OwnerId == caller.UserId || (lab.GroupId is { } group && caller.IsMemberOf(group));

    public bool Allows(Caller caller, Operation operation, Lab? resource) => operation switch
    {
        Operation.Read or Operation.Create => true,
        Operation.Update or Operation.Delete => caller.IsAdmin || resource?.OwnerId == caller.UserId,
        Operation.WatchConsole => caller.IsAdmin || resource?.OwnerId == caller.UserId
            || (caller.IsInstructor && resource?.GroupId is { } group && caller.IsMemberOf(group)),
        _ => false,
    };
}

/// <summary>
/// Lab snapshots (issue #15): admins see and delete all; the owner sees and deletes theirs; the members of the group the
/// lab was shared with when it was taken see it (and so may restore it into a lab of their own). Taking one is an
/// operation on the lab (the lab's Update).
/// </summary>
public sealed class SnapshotAuthorizer : IResourceAuthorizer<StoredSnapshot>
{
    public IQueryable<StoredSnapshot> Visible(IQueryable<StoredSnapshot> source, Caller caller)
    {
        if (caller.IsAdmin)
        {
            return source;
        }
        var groups = caller.GroupIds.ToList();
        return source.Where(s => s.OwnerId == caller.UserId || (s.GroupId != null && groups.Contains(s.GroupId.Value)));
    }

    public bool Allows(Caller caller, Operation operation, StoredSnapshot? resource) => operation switch
    {
        Operation.Read or Operation.Create => true,
        Operation.Update or Operation.Delete => caller.IsAdmin || resource?.OwnerId == caller.UserId,
        _ => false,
    };
}

/// <summary>
/// Lab templates: admins see and manage all. Instructors create templates and manage (change, add versions, delete)
/// their own. Everyone signed in reads the templates shared with them: their group's (visibility group) and everyone's
/// (visibility everyone); a private template is seen by its owner only. Students do not create templates. Deploying a
/// lab from a template needs only to read it.
/// </summary>
public sealed class LabTemplateAuthorizer : IResourceAuthorizer<LabTemplate>
{
    public IQueryable<LabTemplate> Visible(IQueryable<LabTemplate> source, Caller caller)
    {
        if (caller.IsAdmin)
        {
            return source;
        }
        var groups = caller.GroupIds.ToList();
        return source.Where(t => t.OwnerId == caller.UserId
            || t.Visibility == TemplateVisibility.Everyone
            || (t.Visibility == TemplateVisibility.Group && t.GroupId != null && groups.Contains(t.GroupId.Value)));
    }

    public bool Allows(Caller caller, Operation operation, LabTemplate? resource) => operation switch
    {
        Operation.Read => true,
        Operation.Create => caller.IsAdmin || caller.IsInstructor,
        Operation.Update or Operation.Delete => caller.IsAdmin || (caller.IsInstructor && resource?.OwnerId == caller.UserId),
        _ => false,
    };
}

/// <summary>The device catalog: everyone signed in reads it (retired types included, marked); only admins change it.</summary>
public sealed class NodeTypeAuthorizer : IResourceAuthorizer<StoredNodeType>
{
    public IQueryable<StoredNodeType> Visible(IQueryable<StoredNodeType> source, Caller caller) => source;

    public bool Allows(Caller caller, Operation operation, StoredNodeType? resource) =>
        operation == Operation.Read || caller.IsAdmin;
}

/// <summary>
/// The controller's VM image library: everyone signed in reads it (which images their topologies may name); only admins
/// add and delete images (a disk is code a lab host runs, and it fills the controller's and hosts' disks).
/// </summary>
public sealed class VmImageAuthorizer : IResourceAuthorizer<StoredVmImage>
{
    public IQueryable<StoredVmImage> Visible(IQueryable<StoredVmImage> source, Caller caller) => source;

    public bool Allows(Caller caller, Operation operation, StoredVmImage? resource) => operation == Operation.Read || caller.IsAdmin;
}

/// <summary>Server settings (the tenant policy): everyone signed in reads them; only admins change them.</summary>
public sealed class SettingAuthorizer : IResourceAuthorizer<ServerSetting>
{
    public IQueryable<ServerSetting> Visible(IQueryable<ServerSetting> source, Caller caller) => source;

    public bool Allows(Caller caller, Operation operation, ServerSetting? resource) => operation == Operation.Read || caller.IsAdmin;
}

/// <summary>
/// Reservations: admins see and manage all. The owner sees and manages theirs; the members of the group a reservation
/// gives labs to (audience members) see it. Anyone signed in books for themselves; booking for a group's members or for
/// teams is for instructors of those groups and admins (checked by the endpoint, which knows the audience).
/// </summary>
public sealed class ReservationAuthorizer : IResourceAuthorizer<Reservation>
{
    public IQueryable<Reservation> Visible(IQueryable<Reservation> source, Caller caller)
    {
        if (caller.IsAdmin)
        {
            return source;
        }
        var groups = caller.GroupIds.ToList();
        return source.Where(r => r.OwnerId == caller.UserId || (r.GroupId != null && groups.Contains(r.GroupId.Value)));
    }

    public bool Allows(Caller caller, Operation operation, Reservation? resource) => operation switch
    {
        Operation.Read or Operation.Create => true,
        Operation.Update or Operation.Delete => caller.IsAdmin || resource?.OwnerId == caller.UserId,
        _ => false,
    };

    /// <summary>Whether the caller may give labs to every member of <paramref name="group"/>, or to it as a team.</summary>
    public static bool MayBookFor(Caller caller, Guid group) => caller.IsAdmin || (caller.IsInstructor && caller.IsMemberOf(group));
}
