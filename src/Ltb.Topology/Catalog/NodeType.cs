namespace Ltb.Topology.Catalog;

/// <summary>How a node of this type runs on a lab host.</summary>
public enum NodeRuntime
{
    /// <summary>A container (Docker).</summary>
    Container,

    /// <summary>A QEMU virtual machine (vrnetlab-style kinds run QEMU inside a container; LTB runs it directly).</summary>
    Vm,

    /// <summary>A Linux bridge or OVS bridge on the host: a node only in the sense that links attach to it.</summary>
    Bridge,

    /// <summary>Something LTB does not create (an existing container, a kind cluster).</summary>
    External,
}

/// <summary>How the user reaches the node's command line.</summary>
public enum ConsoleType
{
    Shell,
    Serial,
    Ssh,
    Telnet,
    None,
}

/// <summary>How a snapshot holds a VM guest still while its disk is copied (node type key <c>snapshot-guest</c>).</summary>
public enum SnapshotGuest
{
    /// <summary>QMP <c>stop</c> while the disk is copied, then <c>cont</c>: a crash-consistent disk, a pause of a local copy.</summary>
    Pause,
    /// <summary>
    /// ACPI power-down, the copy once the guest has shut down, then a fresh boot: a clean disk for guests that do not take a
    /// power cut well, at the price of a reboot.
    /// </summary>
    PowerOff,
}

/// <summary>
/// Whether a VM node has a graphical display (node type key <c>display</c>, or the node label <c>ltb.display</c>):
/// <c>vnc</c> gives the guest a VGA card whose screen LTB serves over VNC, only through its API (never a TCP port).
/// </summary>
public enum DisplayType
{
    None,
    Vnc,
}

/// <summary>How a startup configuration gets into the node.</summary>
public enum ConfigInjection
{
    /// <summary>Bind-mounted (containers) to <see cref="ConfigMethod.Path"/>.</summary>
    Bind,

    /// <summary>Passed in the environment variable <see cref="ConfigMethod.EnvVar"/>.</summary>
    Env,

    /// <summary>As cloud-init user-data (VMs).</summary>
    CloudInit,

    /// <summary>Typed into the node after boot (<see cref="ConfigMethod.ApplyCommand"/>), over the console or SSH.</summary>
    Commands,

    /// <summary>The type takes no startup configuration.</summary>
    None,
}

public sealed record ConfigMethod(ConfigInjection Injection, string? Path = null, string? EnvVar = null, string? ApplyCommand = null);

public sealed record Credentials(string Username, string Password);

/// <summary>How LTB runs a command in a VM node (exec): <c>ssh</c> to its management address.</summary>
public enum GuestExecMethod
{
    Ssh,
}

/// <summary>
/// How a VM node type takes commands from LTB (node type key <c>exec</c>): over SSH to its management address as
/// <paramref name="User"/>, with a key LTB makes for each node and gives the guest in its cloud-init seed.
/// </summary>
public sealed partial record GuestExec(GuestExecMethod Method, string User, int Port = 22)
{
    [System.Text.RegularExpressions.GeneratedRegex("^[a-z_][a-z0-9_-]{0,31}$")]
    private static partial System.Text.RegularExpressions.Regex UserPattern();

    public static bool IsValidUser(string user) => UserPattern().IsMatch(user);
}

/// <summary>How to tell that the node has booted: a line in its log or console, a command that succeeds, or a TCP port on its management address that accepts connections (VMs).</summary>
public sealed record ReadinessCheck(string? LogLine, string? Command, int TimeoutSeconds)
{
    public int? Port { get; init; }
}

/// <summary>
/// A kind of device ("information about a device"): everything needed to create a node of it and work with it.
/// Loaded from YAML (built in, or added by admins); see docs/topology.md, "Device catalog".
/// </summary>
public sealed record NodeType
{
    public required string Name { get; init; }

    /// <summary>Other names containerlab accepts for the kind (e.g. `srl` for `nokia_srlinux`).</summary>
    public IReadOnlyList<string> Aliases { get; init; } = [];

    public string Description { get; init; } = "";

    public string Vendor { get; init; } = "";

    public string Os { get; init; } = "";

    /// <summary>Versions the catalog knows; the first is the default.</summary>
    public IReadOnlyList<string> Versions { get; init; } = [];

    public IReadOnlyList<string> Tags { get; init; } = [];

    public NodeRuntime Runtime { get; init; } = NodeRuntime.Container;

    /// <summary>Default container image (containers, and the vrnetlab image of VM kinds); null when the user must give one.</summary>
    public string? Image { get; init; }

    /// <summary>Default VM disk image (runtime vm).</summary>
    public string? Disk { get; init; }

    public required InterfaceNaming Interfaces { get; init; }

    public Credentials? Credentials { get; init; }

    public ConfigMethod Config { get; init; } = new(ConfigInjection.None);

    /// <summary>Default CPUs (fractions allowed) and memory in bytes; null means no limit.</summary>
    public double? Cpu { get; init; }

    public long? MemoryBytes { get; init; }

    /// <summary>Linux capabilities the node needs. Privileged mode is not used: lab hosts may refuse it.</summary>
    public IReadOnlyList<string> Capabilities { get; init; } = [];

    public IReadOnlyDictionary<string, string> Sysctls { get; init; } = new Dictionary<string, string>();

    public IReadOnlyDictionary<string, string> Env { get; init; } = new Dictionary<string, string>();

    public ConsoleType Console { get; init; } = ConsoleType.Shell;

    /// <summary>The TCP port of an ssh or telnet console on the node's management address; null: 22 for ssh, 23 for telnet.</summary>
    public int? ConsolePort { get; init; }

    public ReadinessCheck? Ready { get; init; }

    /// <summary>A VM type's graphical display (<see cref="DisplayType.Vnc"/>: VGA, served over VNC through LTB); none by default.</summary>
    public DisplayType Display { get; init; } = DisplayType.None;

    /// <summary>How exec reaches a VM node of this type (null: it cannot; containers exec through their engine).</summary>
    public GuestExec? Exec { get; init; }

    public string? SaveConfigCommand { get; init; }

    /// <summary>How a snapshot holds a VM guest still while its disk is copied (<c>snapshot-guest</c>: pause, the default, or poweroff).</summary>
    public SnapshotGuest SnapshotGuest { get; init; } = SnapshotGuest.Pause;

    /// <summary>
    /// The command whose output is the running configuration in the form the node reads at start from
    /// <see cref="ConfigMethod.Path"/> (e.g. `vtysh -c 'show running-config no-header'`): a snapshot saves that output as
    /// the node's startup configuration, which works where save-config cannot write (a bind-mounted config file).
    /// </summary>
    public string? RunningConfigCommand { get; init; }

    public string? ShowConfigCommand { get; init; }

    /// <summary>The command whose output names the running software and its version (device information), e.g. `vtysh -c 'show version'`.</summary>
    public string? ShowVersionCommand { get; init; }

    /// <summary>Ansible's `ansible_network_os` for nodes of this type (a collection's platform, e.g. `arista.eos.eos`), where one is known.</summary>
    public string? AnsibleNetworkOs { get; init; }

    /// <summary>
    /// Ansible's `ansible_connection` for nodes of this type; null: `ansible.netcommon.network_cli` where
    /// <see cref="AnsibleNetworkOs"/> is known (a network OS's CLI over SSH), else `ssh` (a Linux host).
    /// </summary>
    public string? AnsibleConnection { get; init; }

    /// <summary>The connection plugin Ansible uses for nodes of this type (<see cref="AnsibleConnection"/>, or its default).</summary>
    public string EffectiveAnsibleConnection => AnsibleConnection ?? (AnsibleNetworkOs is null ? "ssh" : "ansible.netcommon.network_cli");

    /// <summary>
    /// Taken out of service by an administrator: it stays in the catalog (readable, and labs that use it keep running),
    /// but a topology loaded with this catalog that uses it gets an error.
    /// </summary>
    public bool Retired { get; init; }

    /// <summary>The file the type was read from (built-in resource name or admin file), for messages.</summary>
    public string Source { get; init; } = "";
}
