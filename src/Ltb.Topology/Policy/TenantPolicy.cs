using System.Collections.Frozen;

namespace Ltb.Topology.Policy;

/// <summary>
/// What the installation allows a non-administrator's topology (students, instructors) to ask of a lab host, and the
/// limits every node gets. Administrators load topologies trusted (<see cref="LoadOptions.Trusted"/>): the restrictions
/// do not apply to them, the node defaults (limits) do. Set by an administrator (config file, API); the defaults are
/// the safe ones. docs/security.md has the table "setting -> who may use it -> how the admin changes it".
/// </summary>
public sealed record TenantPolicy
{
    /// <summary>
    /// Linux capabilities a non-admin's node may have (its node type's and its `cap-add`). Docker's default set plus
    /// what a network device needs; never SYS_ADMIN, SYS_MODULE, DAC_READ_SEARCH, SYS_PTRACE, SYS_RAWIO, SYS_BOOT...
    /// </summary>
    public IReadOnlySet<string> Capabilities { get; init; } = DefaultCapabilities;

    public static readonly FrozenSet<string> DefaultCapabilities = new[]
    {
        // Docker's default set (granted anyway; naming them in cap-add is harmless).
        "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP", "NET_BIND_SERVICE", "NET_RAW",
        "SYS_CHROOT", "MKNOD", "AUDIT_WRITE", "SETFCAP",
        // A network device's own: interfaces, routes, firewall and qdiscs inside the node's namespace.
        "NET_ADMIN", "NET_BROADCAST", "IPC_LOCK", "SYS_NICE",
    }.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>Published ports (`ports:`): allowed to non-admins at all, in which host port range, on which host address.</summary>
    public PortPolicy Ports { get; init; } = new();

    /// <summary>
    /// Images a non-admin's node may use beyond the device catalog's images and the images already on the lab hosts
    /// (exact `repo:tag`, or a prefix ending in `*`). Non-admins never pull from a registry.
    /// </summary>
    public IReadOnlyList<string> Images { get; init; } = [];

    /// <summary>The limits of a node whose topology and node type set none (applied to every caller's nodes).</summary>
    public NodeLimits NodeDefaults { get; init; } = new();

    /// <summary>Quotas per role name (`student`, `instructor`) and per group name; a caller's tightest applies.</summary>
    public IReadOnlyDictionary<string, Quota> RoleQuotas { get; init; } = DefaultRoleQuotas;

    public IReadOnlyDictionary<string, Quota> GroupQuotas { get; init; } = new Dictionary<string, Quota>(StringComparer.Ordinal);

    public static readonly IReadOnlyDictionary<string, Quota> DefaultRoleQuotas = new Dictionary<string, Quota>(StringComparer.Ordinal)
    {
        ["student"] = new Quota { RunningLabs = 3, Nodes = 60, Cpus = 16, MemoryBytes = 16L << 30 },
        ["instructor"] = new Quota { RunningLabs = 20, Nodes = 500, Cpus = 64, MemoryBytes = 64L << 30 },
    };

    /// <summary>The scheduler's timings for reservations and ad-hoc labs (docs/api.md, "Reservations").</summary>
    public SchedulingPolicy Scheduling { get; init; } = new();

    /// <summary>The most `exec` and node-log output one request returns; the rest is cut with a note.</summary>
    public long OutputLimitBytes { get; init; } = 1L << 20;

    public static TenantPolicy Default { get; } = new();
}

/// <summary>Published ports for non-admins: off by default; when on, only host ports in the range, only on the address.</summary>
public sealed record PortPolicy
{
    public bool Allowed { get; init; }
    public int First { get; init; } = 30000;
    public int Last { get; init; } = 32767;
    /// <summary>The host address published ports bind to (a port written without an address gets this one).</summary>
    public string Address { get; init; } = "127.0.0.1";
}

/// <summary>Limits every container node runs with.</summary>
public sealed record NodeLimits
{
    /// <summary>CPUs of a node that sets none and whose node type sets none.</summary>
    public double Cpu { get; init; } = 1;
    /// <summary>Memory of a node that sets none and whose node type sets none (a hard limit).</summary>
    public long MemoryBytes { get; init; } = 256L << 20;
    /// <summary>
    /// Processes and threads in one node (a fork bomb stops here). Each costs the node's memory ~130-180 KiB (kernel
    /// memory counts on cgroup v1), so 512 keeps a bomb inside the `linux` type's 128 MiB: it stops at this limit
    /// instead of taking the node down by OOM (measured: docs/benchmarks.md, "Node memory").
    /// </summary>
    public long Pids { get; init; } = 512;
    /// <summary>The container log kept on the host: one file of at most this size, rotated once.</summary>
    public long LogBytes { get; init; } = 10L << 20;

    public static NodeLimits Default { get; } = new();
}

/// <summary>At most this much at once for one user (role quota) or one group's members together (group quota); null: no limit.</summary>
public sealed record Quota
{
    public int? RunningLabs { get; init; }
    public int? Nodes { get; init; }
    public double? Cpus { get; init; }
    public long? MemoryBytes { get; init; }
    /// <summary>Hours of reservations (window x labs) starting in any one week (Monday 00:00 UTC on).</summary>
    public double? ReservedHoursPerWeek { get; init; }
    /// <summary>The longest reservation window, in hours.</summary>
    public double? LongestWindowHours { get; init; }
    /// <summary>How far ahead a reservation may start, in days.</summary>
    public double? BookAheadDays { get; init; }
    /// <summary>
    /// The longest life of an ad-hoc lab (deployed without a reservation), in hours: admitted only when its capacity stays
    /// free that long against the reservations ahead; warned, then removed when it is reached. Role quotas only.
    /// </summary>
    public double? LabLifetimeHours { get; init; }
}

/// <summary>When the scheduler acts around a reservation's window and an ad-hoc lab's lifetime.</summary>
public sealed record SchedulingPolicy
{
    /// <summary>How long before its start a reservation's labs are deployed (enough for the nodes to boot).</summary>
    public int LeadSeconds { get; init; } = 300;
    /// <summary>How long before the end the labs' users are warned (an event of each lab).</summary>
    public int WarningSeconds { get; init; } = 600;
    /// <summary>How far past its booked end an owner may extend a running reservation, in minutes (0: no extensions).</summary>
    public int MaxExtensionMinutes { get; init; } = 60;
}
