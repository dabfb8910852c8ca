namespace Ltb.Server.Data;

public enum SnapshotState
{
    /// <summary>Its task runs; nothing of it can be read yet.</summary>
    Creating = 0,
    /// <summary>Complete in the snapshot store: listed with its size, restorable.</summary>
    Ready = 1,
}

/// <summary>
/// A named snapshot of a lab (issue #15): the row is the metadata; the content (the lab's files as they were, each node's
/// saved state, the lab's status) is a folder of the snapshot store (<see cref="Snapshots.SnapshotStore"/>). It outlives
/// the lab (destroy, then restore into a new lab), so it names the lab by id and name rather than referencing its row.
/// Readable by its owner, the members of the group the lab was shared with, and admins (<see cref="Auth.SnapshotAuthorizer"/>).
/// </summary>
public sealed class StoredSnapshot
{
    public Guid Id { get; set; }
    /// <summary>Unique per lab; the rule of lab names.</summary>
    public string Name { get; set; } = "";
    public Guid OwnerId { get; set; }
    public LtbUser? Owner { get; set; }
    /// <summary>The group the lab was shared with when the snapshot was taken (its members may read it).</summary>
    public Guid? GroupId { get; set; }
    public Guid LabId { get; set; }
    public string LabName { get; set; } = "";
    /// <summary>The topology's file name in the snapshot's files.</summary>
    public string SourceFileName { get; set; } = "";
    public SnapshotState State { get; set; }
    /// <summary>The bytes it takes in the store (what counts toward its owner's quota); 0 while creating.</summary>
    public long SizeBytes { get; set; }
    public int NodeCount { get; set; }
    /// <summary>The snapshot task that creates it.</summary>
    public Guid? TaskId { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
}
