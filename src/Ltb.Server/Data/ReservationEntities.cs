namespace Ltb.Server.Data;

/// <summary>Who gets labs from a reservation.</summary>
public enum ReservationAudience
{
    /// <summary>One lab, the owner's.</summary>
    Owner = 0,
    /// <summary>One lab per member of <see cref="Reservation.GroupId"/>, each owned by the member.</summary>
    Members = 1,
    /// <summary>One lab per team (a group named in <see cref="Reservation.TeamIdsJson"/>), owned by the reservation's owner, shared with the team.</summary>
    Teams = 2,
}

/// <summary>Where a reservation is in its life. Scheduled and active ones hold capacity (their <see cref="ReservationHostShare"/> rows).</summary>
public enum ReservationState
{
    Scheduled = 0,
    Active = 1,
    Ended = 2,
    Cancelled = 3,
}

/// <summary>
/// A template (version) booked for a window, admitted against every host's capacity for every moment of it. The plan
/// (<see cref="PlanJson"/>: which host runs each recipient's lab) is stored with it; <see cref="ReservationHostShare"/>
/// rows hold what it demands per host and when, which is what the next admission reads. The scheduler
/// (<see cref="Ltb.Server.Reservations.ReservationScheduler"/>) claims its steps with conditional updates of
/// <see cref="State"/>, <see cref="WarnedAt"/> and <see cref="State"/> again, so each happens once among replicas.
/// </summary>
public sealed class Reservation : IVersioned
{
    public Guid Id { get; set; }
    public string Name { get; set; } = "";
    public Guid OwnerId { get; set; }
    public LtbUser? Owner { get; set; }
    public Guid TemplateId { get; set; }
    public int TemplateVersion { get; set; }
    public DateTimeOffset StartsAt { get; set; }
    public DateTimeOffset EndsAt { get; set; }
    /// <summary>When its labs start to count on the hosts: <see cref="StartsAt"/> minus the lead time at booking.</summary>
    public DateTimeOffset HoldsFrom { get; set; }
    public ReservationAudience Audience { get; set; }
    public Guid? GroupId { get; set; }
    /// <summary>The team groups (JSON list of ids) of a <see cref="ReservationAudience.Teams"/> reservation.</summary>
    public string TeamIdsJson { get; set; } = "[]";
    /// <summary>What one of its labs demands (the figures placement uses for the template's plan).</summary>
    public double LabCpus { get; set; }
    public long LabMemoryBytes { get; set; }
    /// <summary>The node kinds of the template (JSON list), which a host must run.</summary>
    public string KindsJson { get; set; } = "[]";
    /// <summary>The placement plan: <see cref="Ltb.Server.Reservations.PlannedLab"/> list as JSON.</summary>
    public string PlanJson { get; set; } = "[]";
    public ReservationState State { get; set; }
    public int Extensions { get; set; }
    /// <summary>The end as booked (or last updated), before extensions: the policy's maximum extension counts from it.</summary>
    public DateTimeOffset BookedEndsAt { get; set; }
    /// <summary>Each lab still running at the end is snapshotted (its owner's snapshot) before its removal.</summary>
    public bool SnapshotAtEnd { get; set; }
    /// <summary>Set by the scheduler when it warned the labs' users of the end (once).</summary>
    public DateTimeOffset? WarnedAt { get; set; }
    /// <summary>The last thing the owner was told (a re-plan after a host left, or why it failed).</summary>
    public string? Notice { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
    public long Version { get; set; }
}

/// <summary>What a scheduled or active reservation demands on one host from <see cref="HoldsFrom"/> to <see cref="EndsAt"/>.</summary>
public sealed class ReservationHostShare
{
    public Guid ReservationId { get; set; }
    public Guid HostId { get; set; }
    public DateTimeOffset HoldsFrom { get; set; }
    public DateTimeOffset EndsAt { get; set; }
    public double Cpus { get; set; }
    public long MemoryBytes { get; set; }
}

/// <summary>A user's iCalendar feed: the SHA-256 of its secret (the secret is in the URL and shown once).</summary>
public sealed class CalendarFeed
{
    public Guid UserId { get; set; }
    public byte[] Hash { get; set; } = [];
    public DateTimeOffset CreatedAt { get; set; }
}
