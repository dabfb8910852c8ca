namespace Ltb.Server.Data;

/// <summary>Where a lab is in its life; every state but the transient ones can be destroyed or redeployed.</summary>
public enum LabLifecycle
{
    Pending = 0,
    Deploying = 1,
    Running = 2,
    Failed = 3,
    Destroying = 4,
    Removed = 5,
}

/// <summary>
/// A lab in the running-lab store: who owns it, what it was deployed from (verbatim source and files under
/// DATA/labs/ID/files), where it runs and in which state. <see cref="StatusJson"/> is the last status the host's agent
/// reported (nodes with kind, image, container, addresses, interfaces; links with their host-side objects), refreshed
/// after every task, so that the store answers even when the host does not.
/// </summary>
public sealed class Lab : IVersioned
{
    public Guid Id { get; set; }
    /// <summary>The user's name for the lab; unique per owner.</summary>
    public string Name { get; set; } = "";
    /// <summary>The name on the host (containers, namespaces, labels): unique per host, see <see cref="Labs.LabNames"/>.</summary>
    public string RuntimeName { get; set; } = "";
    public Guid OwnerId { get; set; }
    public LtbUser? Owner { get; set; }
    /// <summary>Shared read access for the members of this group.</summary>
    public Guid? GroupId { get; set; }
    /// <summary>The host that owns the lab: its task queue runs the lab's tasks (for a spanning lab, on every host it uses).</summary>
    public Guid HostId { get; set; }
    /// <summary>
    /// Where each node runs when the lab spans hosts (<see cref="Ltb.Server.Labs.LabLayout"/> as JSON); null: every node on
    /// <see cref="HostId"/>.
    /// </summary>
    public string? LayoutJson { get; set; }
    /// <summary>Why the lab was placed where it is (recorded by placement, shown to users and admins).</summary>
    public string? PlacementReason { get; set; }
    public LabLifecycle State { get; set; }
    public string SourceFormat { get; set; } = "";
    public string SourceText { get; set; } = "";
    public string SourceFileName { get; set; } = "";
    /// <summary>The stored template the lab was last deployed from (null: an uploaded topology).</summary>
    public Guid? TemplateId { get; set; }
    /// <summary>The number of that template's version.</summary>
    public int? TemplateVersion { get; set; }
    /// <summary>The lab's planned node kinds (node -> kind), which the host does not know.</summary>
    public string NodeKindsJson { get; set; } = "{}";
    /// <summary>The topology group of each node that has one (node -> group), for the lab's access information.</summary>
    public string NodeGroupsJson { get; set; } = "{}";
    public string? StatusJson { get; set; }
    public string? Error { get; set; }
    /// <summary>The reservation that deployed the lab (its capacity is counted there, not as a running lab).</summary>
    public Guid? ReservationId { get; set; }
    /// <summary>An ad-hoc lab's end of life (its role's lifetime); the scheduler warns before and removes it then.</summary>
    public DateTimeOffset? ExpiresAt { get; set; }
    /// <summary>Set once the scheduler warned of the expiry.</summary>
    public DateTimeOffset? ExpiryWarnedAt { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
    public long Version { get; set; }
}

public enum LabEventLevel { Info = 0, Warning = 1, Error = 2 }

/// <summary>One line of a lab's event log (deploys, failures, node and link operations, reconciliation).</summary>
public sealed class LabEvent
{
    public long Id { get; set; }
    public Guid LabId { get; set; }
    public DateTimeOffset At { get; set; }
    public LabEventLevel Level { get; set; }
    public string? Node { get; set; }
    public string Message { get; set; } = "";
}

public enum LabTaskKind { Deployment = 0, Removal = 1, Mirror = 2, Snapshot = 3 }

public enum LabTaskState { Queued = 0, Running = 1, Succeeded = 2, Failed = 3, Interrupted = 4 }

/// <summary>
/// A unit of work on the lab's host, run by the host's task queue. <see cref="InputJson"/> holds everything the task
/// needs (the plan and options), so that a queued task survives a restart and can be shipped to a remote agent.
/// </summary>
public sealed class LabTask
{
    public Guid Id { get; set; }
    public Guid LabId { get; set; }
    public Guid HostId { get; set; }
    public LabTaskKind Kind { get; set; }
    public LabTaskState State { get; set; }
    public string InputJson { get; set; } = "{}";
    /// <summary>The last progress line.</summary>
    public string? Progress { get; set; }
    /// <summary>All log lines, newline-separated.</summary>
    public string Log { get; set; } = "";
    public string? Error { get; set; }
    /// <summary>How many times the task was started (a retry after a lost host or controller starts it again).</summary>
    public int Attempts { get; set; }
    /// <summary>The id of the job that runs the task in the durable job queue.</summary>
    public string? JobId { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? StartedAt { get; set; }
    public DateTimeOffset? FinishedAt { get; set; }
}

/// <summary>
/// A VXLAN network identifier in use by a link of a lab that spans hosts. The key makes a VNI unique across the whole
/// installation, so that two tunnels never meet on a host (a host refuses a second VXLAN device with the same VNI and port).
/// </summary>
public sealed class LabTunnel
{
    public int Vni { get; set; }
    public Guid LabId { get; set; }
    /// <summary>The plan's key of the link the tunnel carries.</summary>
    public string LinkKey { get; set; } = "";
}

/// <summary>
/// What a lab demands of one host it runs on, as its latest deployment request placed it: the CPUs and memory of its
/// nodes there (one row per host of the lab). Placement and the hosts' answers sum these rather than read every lab's
/// plan, and a host finds its part of the labs that span hosts here. A removed lab's rows stay until it is deployed again;
/// its state leaves them out.
/// </summary>
public sealed class LabHostShare
{
    public Guid LabId { get; set; }
    public Guid HostId { get; set; }
    public double Cpus { get; set; }
    public long MemoryBytes { get; set; }
}
