namespace Ltb.Runtime.Labs;

public enum FailurePolicy
{
    /// <summary>A failed deploy leaves what did deploy in place (state Failed), to inspect and destroy later.</summary>
    KeepFailed,
    /// <summary>A failed deploy removes everything it created.</summary>
    Rollback,
}

public enum PullPolicy
{
    /// <summary>Never pull: a missing image fails the deploy, naming the image.</summary>
    Never,
    /// <summary>Pull images that are not present (needs a reachable registry).</summary>
    IfMissing,
}

/// <summary>How a deploy runs. Plain data, so that a control plane can send it to a remote agent.</summary>
public sealed record DeployOptions
{
    /// <summary>Containers created/started at the same time; default: the number of cores.</summary>
    public int MaxParallelism { get; init; } = Environment.ProcessorCount;
    public FailurePolicy OnFailure { get; init; } = FailurePolicy.KeepFailed;
    public PullPolicy Pull { get; init; } = PullPolicy.Never;
    /// <summary>The pool automatic IPv4 management subnets (/24) are taken from.</summary>
    public string MgmtIpv4Pool { get; init; } = "172.20.0.0/16";
    /// <summary>The whole deploy (or apply).</summary>
    public TimeSpan DeployTimeout { get; init; } = TimeSpan.FromMinutes(10);
    /// <summary>One engine call (create, start, inspect, pull is given ten times this).</summary>
    public TimeSpan DockerTimeout { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>One exec command inside a node.</summary>
    public TimeSpan ExecTimeout { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>Grace period of a container stop before it is killed.</summary>
    public TimeSpan StopTimeout { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>
    /// The deployment is a retry (an earlier attempt was cut off, maybe after it finished): a lab already deployed from
    /// this very plan with every node running is kept as it is, anything else left of it is removed before deploying.
    /// Without it, a lab of that name on the host is refused.
    /// </summary>
    public bool Converge { get; init; }
}

/// <summary>Where the runtime keeps per-lab files (the applied plan, inline startup configs) and VM nodes' files and images.</summary>
public sealed record RuntimeOptions
{
    public string StateDirectory { get; init; } = "/var/lib/ltb/labs";

    /// <summary>VM nodes' files (overlays, console logs; <c>Nodes/Vm/VmNodeFiles</c>); null: <c>vms</c> beside <see cref="StateDirectory"/>.</summary>
    public string? VmDirectory { get; init; }

    /// <summary>The host's VM image library (<c>Nodes/Vm/VmImages</c>); null: $LTB_VM_IMAGES, else /var/lib/ltb/vm-images.</summary>
    public string? VmImageDirectory { get; init; }

    /// <summary>
    /// The controller's VM images as this host sees them (<c>Nodes/Vm/VmImageLibrary</c>), searched before
    /// <see cref="VmImageDirectory"/>: the controller's own folder on its local host, the agent's cache on a remote one.
    /// </summary>
    public string? VmImageCacheDirectory { get; init; }

    /// <summary>
    /// Disks taken from vrnetlab container images (<c>Nodes/Vm/VrnetlabDisks</c>), one folder per image ID; null:
    /// <c>vm-disks</c> beside <see cref="StateDirectory"/>.
    /// </summary>
    public string? VmDiskCacheDirectory { get; init; }

    public string EffectiveVmDirectory => VmDirectory ?? Path.Combine(Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(StateDirectory)) ?? "/var/lib/ltb", "vms");

    public string EffectiveVmDiskCacheDirectory => VmDiskCacheDirectory ?? Path.Combine(Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(StateDirectory)) ?? "/var/lib/ltb", "vm-disks");

    public string EffectiveVmImageDirectory => VmImageDirectory ?? (Environment.GetEnvironmentVariable("LTB_VM_IMAGES") is { Length: > 0 } env ? env : "/var/lib/ltb/vm-images");
}
