using System.Text.Json.Serialization;
using Ltb.Topology.Catalog;

namespace Ltb.Runtime.Plan;

/// <summary>
/// A host path mounted into the container. The host path is absolute; <paramref name="LabFile"/>: it is one of the lab's
/// own uploaded files (inside the topology's folder), not a host path an administrator binds.
/// </summary>
public sealed record BindMount(string HostPath, string ContainerPath, string Mode = "rw", bool LabFile = false)
{
    public string ToDockerBind() => Mode is "" or null ? $"{HostPath}:{ContainerPath}" : $"{HostPath}:{ContainerPath}:{Mode}";
}

/// <summary>A startup configuration placed in the container: a host file or inline text (written to the lab's state folder).</summary>
public sealed record StartupConfig(string ContainerPath, string? HostFile = null, string? InlineText = null);

/// <summary>
/// A command run inside the container after the node's links are up: either an argument vector, or a string run by the
/// container's own <c>sh -c</c> (never a host shell).
/// </summary>
public sealed record ExecCommand
{
    public IReadOnlyList<string>? Argv { get; init; }
    public string? Shell { get; init; }

    public static ExecCommand Sh(string command) => new() { Shell = command };
    public static ExecCommand Args(params string[] argv) => new() { Argv = argv };

    public IReadOnlyList<string> ToArgv() => Argv ?? ["sh", "-c", Shell ?? throw new InvalidOperationException("empty exec command")];
    public override string ToString() => Shell ?? string.Join(' ', Argv ?? []);
}

/// <summary>A published port: host port -> container port/protocol.</summary>
public sealed record PortMapping(int HostPort, int ContainerPort, string Protocol = "tcp", string? HostIp = null);

/// <summary>
/// What only a virtual machine node needs (the VM driver, <c>Nodes/VmDriver</c>, runs it with QEMU).
/// </summary>
/// <param name="Disk">The VM image the node boots, by name in the host's VM image library (<c>NAME[:VERSION]</c>, never a host path): a disk, or a kernel for direct kernel boot.</param>
/// <param name="NicModel">The emulated network card of its interfaces.</param>
/// <param name="Firmware">"bios" (the only one so far).</param>
public sealed record VmPlan(string Disk, string NicModel = "virtio-net-pci", string Firmware = "bios")
{
    /// <summary>A regular expression the serial console prints when the guest is ready (the node type's <c>ready.log</c>).</summary>
    public string? ReadyLog { get; init; }
    /// <summary>A TCP port on the management address that accepts connections when the guest is ready (<c>ready.port</c>).</summary>
    public int? ReadyPort { get; init; }
    /// <summary>How long the guest may take to become ready (under TCG emulation the driver allows more).</summary>
    public int ReadyTimeoutSeconds { get; init; } = 300;
    /// <summary>
    /// The node type takes its configuration by cloud-init: a disk guest gets a NoCloud seed (Nodes/Vm/CloudInitSeed)
    /// with its management address and the node's startup-config as user-data. Left out of the JSON when false, so
    /// that the node hashes of VM labs deployed before it existed stay the same.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public bool CloudInit { get; init; }

    /// <summary>How exec reaches the guest (the node type's <c>exec</c>); null (and left out of the JSON): it cannot.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public Ltb.Topology.Catalog.GuestExec? Exec { get; init; }

    /// <summary>
    /// The guest has a graphical display: a VGA card whose screen QEMU serves over VNC on a unix socket of the node,
    /// reached only through LTB's API (the node type's <c>display: vnc</c>, or the node label <c>ltb.display</c>). Left
    /// out of the JSON when false, so that the node hashes of VM labs deployed before it existed stay the same.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public bool Display { get; init; }

    /// <summary>
    /// A snapshot powers the guest down (ACPI) for the disk copy and boots it again, rather than pausing it (the node
    /// type's <c>snapshot-guest: poweroff</c>). Left out of the JSON when false, so that node hashes stay the same.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public bool SnapshotPowerOff { get; init; }
}

/// <summary>
/// One node, fully resolved. <see cref="Runtime"/> says which node driver deploys it (<c>INodeDriver</c>); the
/// settings below <see cref="Runtime"/> that are not generic (image, binds, cmd, entrypoint, capabilities, sysctls,
/// network mode...) are the container part, <see cref="Vm"/> the VM part. The container fields stay at this level
/// (not in a sub-record) so that stored plans, node hashes and every caller stay as they were.
/// </summary>
public sealed record NodePlan
{
    public required string Name { get; init; }
    /// <summary>
    /// Which driver runs the node. Left out of the JSON when Container, so that the plans and node hashes of labs
    /// deployed before it existed stay the same (an apply does not recreate their nodes).
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public NodeRuntime Runtime { get; init; } = NodeRuntime.Container;
    /// <summary>The VM part: set for <see cref="NodeRuntime.Vm"/> nodes only.</summary>
    public VmPlan? Vm { get; init; }
    public required string Image { get; init; }
    public IReadOnlyDictionary<string, string> Env { get; init; } = new Dictionary<string, string>();
    public IReadOnlyList<BindMount> Binds { get; init; } = [];
    public StartupConfig? StartupConfig { get; init; }
    public IReadOnlyList<ExecCommand> Exec { get; init; } = [];
    public IReadOnlyList<string>? Cmd { get; init; }
    public IReadOnlyList<string>? Entrypoint { get; init; }
    public string? User { get; init; }
    public IReadOnlyList<string> CapAdd { get; init; } = [];
    public bool Privileged { get; init; }
    public IReadOnlyDictionary<string, string> Sysctls { get; init; } = new Dictionary<string, string>();
    /// <summary>CPUs (e.g. 1.5); null: unlimited (the planner always sets it: topology, else node type, else policy).</summary>
    public double? Cpu { get; init; }
    /// <summary>Hard memory limit in bytes, swap included; null: unlimited (the planner always sets it).</summary>
    public long? Memory { get; init; }
    /// <summary>Processes and threads the node may have at once; null: unlimited (the planner always sets it).</summary>
    public long? PidsLimit { get; init; }
    /// <summary>The node's container log on the host: at most this many bytes per file, two files; null: Docker's default.</summary>
    public long? LogMaxBytes { get; init; }
    public string? CpuSet { get; init; }
    public string? MgmtIpv4 { get; init; }
    /// <summary>A hint: the management IPv4 address this node gets when it is in the subnet and free (a VM resumed from its RAM state holds it).</summary>
    public string? PreferredMgmtIpv4 { get; init; }
    public string? MgmtIpv6 { get; init; }
    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();
    public IReadOnlyList<PortMapping> Ports { get; init; } = [];
    /// <summary>Nodes that must be started (and have run their exec commands) before this one starts.</summary>
    public IReadOnlyList<string> WaitFor { get; init; } = [];
    /// <summary>Start wave: all nodes of a lower stage start (and run exec) before any node of a higher stage.</summary>
    public int Stage { get; init; }
    public IReadOnlyList<string> Dns { get; init; } = [];
    /// <summary>
    /// null: the lab's management network. "none" and "host" are passed to Docker as is; "container:X" shares the
    /// network namespace of the lab's node X (its container), or of a container named X outside the lab in a trusted
    /// plan only (<see cref="LabPlan.Trusted"/>).
    /// </summary>
    public string? NetworkMode { get; init; }
    /// <summary>null: the node name.</summary>
    public string? Hostname { get; init; }
    /// <summary>
    /// A host path to a tar of the node's saved filesystem changes (a snapshot's, issue #15), put into the node's
    /// filesystem after it is created and before it first starts. Left out of the JSON when null, so that plans and node
    /// hashes of labs deployed before it existed stay the same.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Restore { get; init; }

    /// <summary>
    /// The paths a snapshot saw deleted from the node's image, deleted again once the restored node has started
    /// (<see cref="Nodes.RestoredDeletions"/>). Checked there, not trusted: an imported archive may carry them.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<string>? RestoreDeleted { get; init; }
}
