namespace Ltb.Contracts;

/// <summary>
/// A snapshot of a lab (issue #15; docs/api.md "Snapshots"): named, owned, with its size once taken. State "creating"
/// while its task runs (follow <see cref="TaskId"/>), then "ready". It outlives its lab: restore it into a new lab with
/// <c>POST /api/v1/labs</c> and the form field <c>snapshot</c>.
/// </summary>
public sealed record SnapshotDto(Guid Id, string Name, Guid LabId, string LabName, Guid OwnerId, string Owner, Guid? GroupId, string State,
    long SizeBytes, int Nodes, Guid? TaskId, DateTimeOffset CreatedAt);

/// <summary>
/// POST /api/v1/labs/{lab}/snapshots: the snapshot's name (unique per lab; letters, digits, '-', '_', '.'); with
/// <paramref name="Memory"/> each VM node's RAM state too (a restored VM runs on where it was instead of booting; not for
/// node types that power the guest off for a snapshot, a warning; containers ignore it).
/// </summary>
public sealed record CreateSnapshotRequest(string Name, bool Memory = false);

/// <summary>The answer to a snapshot request: the snapshot (creating) and the task that takes it.</summary>
public sealed record SnapshotAccepted(SnapshotDto Snapshot, LabTaskDto Task);

/// <summary>The caller's own snapshots' use of their quota in the snapshot store (GET /api/v1/snapshots/usage).</summary>
public sealed record SnapshotQuotaDto(long UsedBytes, long QuotaBytes, int Count);
