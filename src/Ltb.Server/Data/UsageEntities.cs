namespace Ltb.Server.Data;

/// <summary>How long a <see cref="UsageRecord"/> covers (its tier); the values are the lengths in seconds.</summary>
public enum UsageTier
{
    Minute = 60,
    TenMinutes = 600,
    Hour = 3600,
}

/// <summary>
/// Usage history (docs/architecture.md "Usage history"): what one node (or, with <see cref="LabId"/> empty, the host
/// machine itself) used during one bucket of its <see cref="Tier"/> starting at <see cref="Start"/>. Every figure is a
/// sum over time, so rows add up: a rollup into a coarser tier, a lab's or a user's total, the accounting of a period
/// are all sums of rows, and a bucket's average is its sum divided by the bucket's length. Owner, group and lab name
/// are those of the lab when it was sampled, so a report stays right after a lab moves to another group or is removed;
/// no foreign keys, for the same reason (the history outlives labs, users and hosts until it is pruned).
/// </summary>
public sealed class UsageRecord
{
    public long Id { get; set; }
    public UsageTier Tier { get; set; }
    /// <summary>The bucket's start (UTC, a multiple of the tier's length).</summary>
    public DateTimeOffset Start { get; set; }
    public Guid HostId { get; set; }
    /// <summary>The lab; <see cref="Guid.Empty"/> for the host's own row (the machine's CPU and memory).</summary>
    public Guid LabId { get; set; }
    /// <summary>The node's name in its lab; empty for the host's own row.</summary>
    public string Node { get; set; } = "";
    public string LabName { get; set; } = "";
    public Guid? OwnerId { get; set; }
    public Guid? GroupId { get; set; }
    /// <summary>Seconds the node was seen running (the host: seconds it was sampled); node-hours are these / 3600.</summary>
    public double NodeSeconds { get; set; }
    /// <summary>CPU time in core-seconds (CPU % of one core / 100 x seconds).</summary>
    public double CpuSeconds { get; set; }
    /// <summary>Memory in use x seconds, in byte-seconds (memory-GiB-hours are these / 2^30 / 3600).</summary>
    public double MemoryByteSeconds { get; set; }
    /// <summary>Bytes received and sent by the node's interfaces during the bucket (0 for the host's row).</summary>
    public long RxBytes { get; set; }
    public long TxBytes { get; set; }
}
