namespace Ltb.Contracts;

// Reservations: a template booked for a time window, for its owner, each member of a group, or each team (docs/api.md).

/// <summary>
/// A booking. <c>Audience</c>: <c>owner</c> (one lab, the owner's), <c>members</c> (one lab per member of
/// <c>GroupId</c>, each owned by the member), <c>teams</c> (one lab per group in <c>TeamIds</c>, owned by the
/// reservation's owner and shared with the team). Omitted: the current version, audience owner. <c>SnapshotAtEnd</c>:
/// each lab still running at the end is snapshotted (owned by the lab's owner) before it is removed.
/// </summary>
public sealed record CreateReservationRequest(string Name, Guid TemplateId, DateTimeOffset StartsAt, DateTimeOffset EndsAt,
    int? TemplateVersion = null, string? Audience = null, Guid? GroupId = null, IReadOnlyList<Guid>? TeamIds = null,
    bool? SnapshotAtEnd = null);

/// <summary>Only the fields given change; the booking is admitted again as changed (or refused and left as it was).</summary>
public sealed record UpdateReservationRequest(DateTimeOffset? StartsAt = null, DateTimeOffset? EndsAt = null, Guid? TemplateId = null,
    int? TemplateVersion = null, string? Audience = null, Guid? GroupId = null, IReadOnlyList<Guid>? TeamIds = null,
    bool? SnapshotAtEnd = null);

/// <summary>Moves the end of a reservation later (its labs stay up); admitted like a booking, up to the policy's maximum.</summary>
public sealed record ExtendReservationRequest(DateTimeOffset EndsAt);

/// <summary>One lab of a reservation: for whom (a user or a team), on which host, and the lab once deployed.</summary>
public sealed record ReservationLabDto(string Recipient, Guid RecipientId, Guid HostId, string Host, Guid? LabId);

/// <summary>
/// <c>State</c>: scheduled (admitted, labs not yet deployed), active (labs deployed or deploying), ended, cancelled.
/// <c>LabCpus</c>/<c>LabMemoryBytes</c>: what one lab demands (the figures placement uses). <c>Notice</c>: what the
/// server last had to tell the owner (a host drained and the labs re-planned, or could not be).
/// </summary>
public sealed record ReservationDto(Guid Id, string Name, Guid OwnerId, string Owner, Guid TemplateId, string Template, int TemplateVersion,
    DateTimeOffset StartsAt, DateTimeOffset EndsAt, string Audience, Guid? GroupId, IReadOnlyList<Guid> TeamIds, string State,
    double LabCpus, long LabMemoryBytes, IReadOnlyList<ReservationLabDto> Labs, int Extensions, string? Notice,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, long Version, bool SnapshotAtEnd = false);

/// <summary>The secret address of one's iCalendar feed (shown once; a new one revokes the old).</summary>
public sealed record CalendarFeedDto(string Url, DateTimeOffset CreatedAt);
