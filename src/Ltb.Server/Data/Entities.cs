using Microsoft.AspNetCore.Identity;

namespace Ltb.Server.Data;

/// <summary>
/// Rows that carry a version: it grows by one on every update (see <see cref="LtbDbContext.SaveChangesAsync(bool, CancellationToken)"/>),
/// is an EF concurrency token, and is the API's ETag. Two writers of the same version: the second gets 412.
/// </summary>
public interface IVersioned
{
    long Version { get; set; }
}

/// <summary>An LTB account (ASP.NET Core Identity user with a Guid key).</summary>
public sealed class LtbUser : IdentityUser<Guid>, IVersioned
{
    public string DisplayName { get; set; } = "";
    public DateTimeOffset CreatedAt { get; set; }
    public long Version { get; set; }
    public List<GroupMember> Memberships { get; set; } = [];
}

public sealed class LtbRole : IdentityRole<Guid>
{
    public LtbRole() { }

    public LtbRole(string name) : base(name) => NormalizedName = name.ToUpperInvariant();
}

/// <summary>A course or a team. Templates and labs (later issues) are shared with groups.</summary>
public sealed class Group : IVersioned
{
    public Guid Id { get; set; }
    public string Name { get; set; } = "";
    public string Description { get; set; } = "";
    public DateTimeOffset CreatedAt { get; set; }
    public long Version { get; set; }
    public List<GroupMember> Members { get; set; } = [];
}

public sealed class GroupMember
{
    public Guid GroupId { get; set; }
    public Group? Group { get; set; }
    public Guid UserId { get; set; }
    public LtbUser? User { get; set; }
    public DateTimeOffset AddedAt { get; set; }
}

public enum ApiTokenKind
{
    /// <summary>Issued by `POST /api/v1/auth/login` (the CLI's `ltb login`); expires.</summary>
    Session = 0,
    /// <summary>Created by the user for scripts; named, listed, revoked by the user.</summary>
    Personal = 1,
}

/// <summary>A bearer token. Only the SHA-256 of the secret is stored; the secret is shown once, at creation.</summary>
public sealed class ApiToken
{
    public Guid Id { get; set; }
    public Guid UserId { get; set; }
    public LtbUser? User { get; set; }
    public ApiTokenKind Kind { get; set; }
    public string Name { get; set; } = "";
    /// <summary>The first characters of the token, so that a user can tell tokens apart in a list.</summary>
    public string Prefix { get; set; } = "";
    public byte[] Hash { get; set; } = [];
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? ExpiresAt { get; set; }
    public DateTimeOffset? LastUsedAt { get; set; }
    public DateTimeOffset? RevokedAt { get; set; }
}

/// <summary>A user's SSH public key, for the SSH gateway (a later issue) to recognise the user.</summary>
public sealed class SshKey
{
    public Guid Id { get; set; }
    public Guid UserId { get; set; }
    public LtbUser? User { get; set; }
    public string Name { get; set; } = "";
    public string Algorithm { get; set; } = "";
    /// <summary>The key in OpenSSH form: "ALGORITHM BASE64" (the comment is kept in <see cref="Name"/>).</summary>
    public string PublicKey { get; set; } = "";
    /// <summary>"SHA256:..." as OpenSSH prints it; what sshd's AuthorizedKeysCommand passes as %f.</summary>
    public string Fingerprint { get; set; } = "";
    public DateTimeOffset CreatedAt { get; set; }
}

public enum LabHostState
{
    Ready = 0,
    /// <summary>Known but not reachable (its agent does not answer).</summary>
    Unreachable = 1,
    /// <summary>Taken out of scheduling by an admin; labs on it keep running.</summary>
    Draining = 2,
    Disabled = 3,
}

/// <summary>A host that runs labs: this machine ("local", in-process agent) or a remote `ltb agent`.</summary>
public sealed class LabHost : IVersioned
{
    public Guid Id { get; set; }
    public string Name { get; set; } = "";
    /// <summary>Where the agent is reached ("in-process" for the local host, a gRPC URL for remote agents).</summary>
    public string Address { get; set; } = "";
    public bool IsLocal { get; set; }
    public int Cpus { get; set; }
    public long MemoryBytes { get; set; }
    public Dictionary<string, string> Labels { get; set; } = [];
    public LabHostState State { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
    public long Version { get; set; }
    /// <summary>Free disk bytes where the agent keeps its data, as last reported.</summary>
    public long DiskBytes { get; set; }
    /// <summary>Whether the host can run VMs with KVM acceleration.</summary>
    public bool Kvm { get; set; }
    /// <summary>The image tags the host's engine holds, as last reported.</summary>
    public List<string> Images { get; set; } = [];
    /// <summary>The node kinds the host can run, as last reported.</summary>
    public List<string> Kinds { get; set; } = [];
    /// <summary>The last registration or heartbeat of a remote agent; a host silent for too long becomes Unreachable.</summary>
    public DateTimeOffset? LastSeenAt { get; set; }
    /// <summary>
    /// What the controller presents to the host's agent on every call (issued at registration, replaced at the next).
    /// Kept readable because the controller must send it; the database is the controller's own trust anchor.
    /// </summary>
    public string? AgentSecret { get; set; }
    public string? AgentVersion { get; set; }
    /// <summary>The address other hosts send VXLAN traffic to for links of labs that span hosts (reported by the agent).</summary>
    public string? TunnelAddress { get; set; }
    /// <summary>An admin's limit on the CPUs placement may use on this host (null: what the agent reports).</summary>
    public int? CpusOverride { get; set; }
    /// <summary>An admin's limit on the memory placement may use on this host (null: what the agent reports).</summary>
    public long? MemoryBytesOverride { get; set; }
    /// <summary>An admin's CPU overcommit: the reported CPUs times this are what placement counts limits against (null: the default).</summary>
    public double? CpuOvercommit { get; set; }
    /// <summary>An admin's memory overcommit: the reported memory times this is what placement counts limits against (null: the default).</summary>
    public double? MemoryOvercommit { get; set; }
    /// <summary>Whether the host's engine remaps root in containers to an unprivileged user (userns-remap); null: not reported.</summary>
    public bool? EngineUserNamespaces { get; set; }
    /// <summary>Whether the host's engine applies its seccomp profile to containers; null: not reported.</summary>
    public bool? EngineSeccomp { get; set; }
    /// <summary>Whether the host's engine confines containers with AppArmor; null: not reported.</summary>
    public bool? EngineAppArmor { get; set; }
}

/// <summary>
/// A credential with which one `ltb agent` registers a host and sends heartbeats. Created and revoked by admins; only the
/// SHA-256 of the secret is kept. The first registration binds it to its host (a token cannot take over another host).
/// </summary>
public sealed class HostToken
{
    public Guid Id { get; set; }
    public string Name { get; set; } = "";
    /// <summary>The first characters of the secret, to recognise it in lists.</summary>
    public string Prefix { get; set; } = "";
    public byte[] Hash { get; set; } = [];
    public Guid? HostId { get; set; }
    public Guid CreatedById { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? LastUsedAt { get; set; }
    public DateTimeOffset? RevokedAt { get; set; }
}

/// <summary>Who did what to which object, when. Append-only: nothing in the API updates or deletes it.</summary>
public sealed class AuditEntry
{
    public long Id { get; set; }
    public DateTimeOffset At { get; set; }
    /// <summary>Null for anonymous actions (a failed login).</summary>
    public Guid? ActorId { get; set; }
    /// <summary>Kept as text so that the entry still reads after the user is deleted.</summary>
    public string ActorName { get; set; } = "";
    public string Action { get; set; } = "";
    public string ObjectType { get; set; } = "";
    public string? ObjectId { get; set; }
    public string? Detail { get; set; }
    public string? RemoteAddress { get; set; }
}
