using System.Text.RegularExpressions;
using Ltb.Runtime.Links.Types;
using Ltb.Runtime.Nodes.Vm;
using Ltb.Runtime.Plan;
using Ltb.Topology.Model;

namespace Ltb.Runtime.Planning;

/// <summary>
/// The planner's part for VM nodes (node types with <c>runtime: vm</c>): the image names a VM image of the hosts'
/// library or a container image holding the VM's qcow2 (vrnetlab; which of the two is the host's business), CPUs and memory as for containers, readiness from the node type, env words for the guest's kernel command
/// line. What only a container has (binds, cmd, entrypoint, network-mode, ports, exec, startup-config for now) is
/// refused with a message naming the node, rather than silently dropped.
/// </summary>
internal static partial class VmNodePlanner
{
    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]{0,63}$")]
    private static partial Regex EnvKey();

    /// <summary>A kernel command line word carries no blank or quote (it would split or confuse the guest's parsing).</summary>
    [GeneratedRegex(@"^[A-Za-z0-9_.:/,@+%=-]{0,256}$")]
    private static partial Regex EnvValue();

    public static NodePlan? Plan(Node node, string who, PlanningOptions options, List<string> errors)
    {
        var before = errors.Count;
        if (node.Image is not { Length: > 0 } image)
        {
            errors.Add($"{who} has no image; set 'image:' to a VM image of the hosts' library (e.g. ltb/tinyvm)");
            return null;
        }
        if (!VmImages.IsValidReference(image) && !VrnetlabDisks.IsImageReference(image))
        {
            errors.Add($"{who} names the VM image '{image}', which is not an image name (NAME[:VERSION] of the hosts' VM image library, " +
                "or a vrnetlab container image holding the VM's qcow2; never a path)");
        }
        Refuse(who, errors, "binds", node.Binds.Count > 0);
        Refuse(who, errors, "cmd", node.Cmd is not null);
        Refuse(who, errors, "entrypoint", node.Entrypoint is not null);
        Refuse(who, errors, "network-mode", node.NetworkMode is not null);
        Refuse(who, errors, "ports", node.Ports.Count > 0);
        Refuse(who, errors, "exec", node.Exec.Count > 0);
        var cloudInit = node.NodeType.Config.Injection == Ltb.Topology.Catalog.ConfigInjection.CloudInit;
        // A cloud-init type takes the startup-config as its user-data; other VM types do not take one yet.
        Refuse(who, errors, "startup-config", node.StartupConfig is not null && !cloudInit);
        foreach (var (key, value) in node.Env)
        {
            if (!EnvKey().IsMatch(key) || !EnvValue().IsMatch(value))
            {
                errors.Add($"{who}: env {key} cannot be passed to a VM (its guest gets env on the kernel command line: names of letters, digits " +
                    "and '_', values without blanks or quotes, at most 256 characters)");
            }
        }
        var display = Display(node, who, errors);
        if (errors.Count > before)
        {
            return null;
        }
        var limits = options.Policy.NodeDefaults;
        var ready = node.NodeType.Ready;
        return new NodePlan
        {
            Name = node.Name,
            Runtime = Ltb.Topology.Catalog.NodeRuntime.Vm,
            Vm = new VmPlan(image)
            {
                ReadyLog = ready?.LogLine,
                ReadyPort = ready?.Port,
                ReadyTimeoutSeconds = ready?.TimeoutSeconds ?? 300,
                CloudInit = cloudInit,
                // Exec over SSH needs the key in a cloud-init seed: only cloud-init types get it.
                Exec = cloudInit ? node.NodeType.Exec : null,
                Display = display,
                SnapshotPowerOff = node.NodeType.SnapshotGuest == Ltb.Topology.Catalog.SnapshotGuest.PowerOff,
            },
            StartupConfig = cloudInit && node.StartupConfig is { } config ? new Plan.StartupConfig("user-data", config.Path, config.Text) : null,
            Image = image,
            Env = node.Env,
            Cpu = node.Cpu ?? limits.Cpu,
            Memory = node.MemoryBytes ?? limits.MemoryBytes,
            PidsLimit = limits.Pids,
            MgmtIpv4 = node.MgmtIpv4,
            MgmtIpv6 = node.MgmtIpv6,
            Labels = node.Labels,
            WaitFor = node.WaitFor,
            Hostname = node.Name,
        };
    }

    /// <summary>The node label that gives one VM a display, or takes its type's away (<c>vnc</c> or <c>none</c>).</summary>
    public const string DisplayLabel = "ltb.display";

    /// <summary>Whether the VM gets a display: the node's <see cref="DisplayLabel"/> label, else its node type's <c>display</c>.</summary>
    private static bool Display(Node node, string who, List<string> errors)
    {
        if (!node.Labels.TryGetValue(DisplayLabel, out var written))
        {
            return node.NodeType.Display == Ltb.Topology.Catalog.DisplayType.Vnc;
        }
        switch (written.Trim().ToLowerInvariant())
        {
            case "vnc":
                return true;
            case "none":
                return false;
            default:
                errors.Add($"{who}: label {DisplayLabel} is 'vnc' (a graphical display reached through LTB) or 'none', not '{written}'");
                return false;
        }
    }

    private static void Refuse(string who, List<string> errors, string key, bool written)
    {
        if (written)
        {
            errors.Add($"{who} is a VM and sets '{key}', which only container nodes take; remove it");
        }
    }

    /// <summary>A VM's interfaces are its cards eth1..eth28 in order (eth0 is its management card): other names are refused.</summary>
    public static void CheckInterfaces(IReadOnlyList<NodePlan> nodes, IReadOnlyList<LinkPlan> links, List<string> errors)
    {
        var vms = nodes.Where(n => n.Vm is not null).Select(n => n.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var end in links.SelectMany(LinkTypes.NodeEnds).Where(e => vms.Contains(e.Node)))
        {
            if (VmTaps.Index(end.Interface) is not (>= 1 and <= QemuCommandLine.MaxDataInterfaces))
            {
                errors.Add($"interface '{end.Interface}' of VM node '{end.Node}' is not one of its cards; a VM's link interfaces are eth1 to " +
                    $"eth{QemuCommandLine.MaxDataInterfaces} (eth0 is its management interface)");
            }
        }
    }
}
