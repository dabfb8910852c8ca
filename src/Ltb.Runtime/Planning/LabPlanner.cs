using System.Globalization;
using Ltb.Runtime.Links.Types;
using Ltb.Runtime.Plan;
using Ltb.Topology.Catalog;
using Ltb.Topology.Model;
using PlannedPort = Ltb.Runtime.Plan.PortMapping;
using PlannedStartupConfig = Ltb.Runtime.Plan.StartupConfig;

namespace Ltb.Runtime.Planning;

/// <summary>How a validated topology becomes a plan for one host.</summary>
public sealed record PlanningOptions
{
    /// <summary>The lab's name on the host; null: the topology's name. A control plane makes it unique per host.</summary>
    public string? LabName { get; init; }

    public LinkBackend LinkBackend { get; init; } = LinkBackend.Veth;

    /// <summary>Privileged nodes and host network mode are for administrators only.</summary>
    public bool Trusted { get; init; }

    /// <summary>The installation's policy: node limits for everybody, port address and range for untrusted callers.</summary>
    public Ltb.Topology.Policy.TenantPolicy Policy { get; init; } = Ltb.Topology.Policy.TenantPolicy.Default;
}

/// <summary>The plan, or why the topology cannot run on this runtime (each message names the node or link).</summary>
public sealed record PlanningResult(LabPlan? Plan, IReadOnlyList<string> Errors)
{
    public bool Succeeded => Plan is not null && Errors.Count == 0;
}

/// <summary>
/// The step between the topology model and the runtime: kinds, defaults and formats are gone afterwards; what is left is
/// an explicit <see cref="LabPlan"/> that any host (in-process or remote agent) can execute.
/// </summary>
public static class LabPlanner
{
    public static PlanningResult Plan(Lab lab, PlanningOptions? options = null)
    {
        options ??= new PlanningOptions();
        var errors = new List<string>();
        // Binds inside the topology's folder are the lab's own uploaded files (none for a lab built in code).
        var topologyFolder = lab.SourceFile.Length > 0 ? Path.GetDirectoryName(lab.SourceFile) : null;
        var names = lab.Nodes.Select(n => n.Name).ToHashSet(StringComparer.Ordinal);
        var nodes = lab.Nodes.Select(n => PlanNode(n, names, options, topologyFolder, errors)).OfType<NodePlan>().ToList();
        var links = lab.Links.Select(l => PlanLink(l, errors)).OfType<LinkPlan>().ToList();
        VmNodePlanner.CheckInterfaces(nodes, links, errors);
        if (errors.Count > 0)
        {
            return new PlanningResult(null, errors);
        }
        return new PlanningResult(new LabPlan
        {
            LabName = options.LabName ?? lab.Name,
            Trusted = options.Trusted,
            Mgmt = PlanMgmt(lab),
            LinkBackend = options.LinkBackend,
            Nodes = nodes,
            Links = links,
        }, []);
    }

    /// <summary>
    /// Every lab gets its own management network. Its subnet is the topology's when written there (or when nodes pin
    /// addresses, which then refer to containerlab's default subnet); otherwise the host picks a free one.
    /// </summary>
    private static MgmtNetworkPlan PlanMgmt(Lab lab)
    {
        var m = lab.Mgmt;
        var pinned = m.SubnetWritten || lab.Nodes.Any(n => n.MgmtIpv4 is not null || n.MgmtIpv6 is not null);
        if (!pinned)
        {
            return new MgmtNetworkPlan { Mtu = m.Mtu };
        }
        return new MgmtNetworkPlan
        {
            Ipv4Subnet = m.Ipv4Subnet,
            Ipv4Gateway = m.Ipv4Gateway,
            Ipv6Subnet = m.Ipv6Subnet,
            Ipv6Gateway = m.Ipv6Gateway,
            Mtu = m.Mtu,
        };
    }

    private static NodePlan? PlanNode(Node node, HashSet<string> labNodes, PlanningOptions options, string? topologyFolder, List<string> errors)
    {
        var who = $"node '{node.Name}' (kind {node.Kind})";
        if (node.Runtime == NodeRuntime.Vm)
        {
            return VmNodePlanner.Plan(node, who, options, errors);
        }
        if (node.Runtime != NodeRuntime.Container)
        {
            errors.Add($"{who} runs as {node.Runtime.ToString().ToLowerInvariant()}; this host runtime deploys container and VM nodes only");
            return null;
        }
        if (node.Image is not { Length: > 0 } image)
        {
            errors.Add($"{who} has no image; set 'image:' on the node, its group or its kind");
            return null;
        }
        if (node.NetworkMode is "host" && !options.Trusted)
        {
            errors.Add($"{who} asks for the host's network (network-mode: host); only administrators may deploy that");
        }
        var waitFor = node.WaitFor;
        if (Nodes.Names.SharedNetworkNode(node.NetworkMode) is { } shared)
        {
            if (labNodes.Contains(shared))
            {
                // The node joins the other's namespace, which must exist first: an implicit wait-for.
                waitFor = waitFor.Contains(shared) ? waitFor : [.. waitFor, shared];
            }
            else if (!options.Trusted)
            {
                errors.Add($"{who} shares the network of '{shared}' (network-mode: {node.NetworkMode}), which is no node of this " +
                    "lab; only administrators may join a container outside the lab");
            }
        }
        var limits = options.Policy.NodeDefaults;

        var env = new Dictionary<string, string>(node.Env, StringComparer.Ordinal);
        var startup = PlanStartupConfig(node, who, env, errors);
        return new NodePlan
        {
            Name = node.Name,
            Image = image,
            Env = env,
            Binds = node.Binds.Select(b => new BindMount(b.Source, b.Target, BindMode(b.Mode), IsInside(b.Source, topologyFolder))).ToList(),
            StartupConfig = startup,
            Exec = node.Exec.Select(ExecCommand.Sh).ToList(),
            Cmd = Words(node.Cmd, $"{who}: cmd", errors),
            Entrypoint = Words(node.Entrypoint, $"{who}: entrypoint", errors),
            User = node.User,
            CapAdd = node.CapAdd,
            Sysctls = node.Sysctls,
            // Every node runs under limits: the topology's, else its node type's (both in node.Cpu/MemoryBytes), else
            // the installation's defaults. Placement counts exactly these.
            Cpu = node.Cpu ?? limits.Cpu,
            Memory = node.MemoryBytes ?? limits.MemoryBytes,
            PidsLimit = limits.Pids,
            LogMaxBytes = limits.LogBytes,
            CpuSet = node.CpuSet,
            MgmtIpv4 = node.MgmtIpv4,
            MgmtIpv6 = node.MgmtIpv6,
            Labels = node.Labels,
            // A port written without a host address: containerlab's (and Docker's) every address for administrators, the
            // policy's address for everybody else (the policy helper's validation checks the range and the permission).
            Ports = node.Ports.Select(p => new PlannedPort(p.HostPort, p.ContainerPort, p.Protocol, p.HostIp ?? (options.Trusted ? null : options.Policy.Ports.Address))).ToList(),
            WaitFor = waitFor,
            Dns = node.Dns?.Servers ?? [],
            NetworkMode = node.NetworkMode,
            Hostname = node.Name,
        };
    }

    /// <summary>
    /// Read-only unless the topology says rw (containerlab's default is rw): a node then cannot change the lab's files,
    /// nor plant links in them, unless its author asked for a writable folder. Options without ro/rw (z, Z) get ro.
    /// </summary>
    private static bool IsInside(string path, string? folder)
    {
        if (folder is null)
        {
            return false;
        }
        var relative = Path.GetRelativePath(folder, path);
        return !Path.IsPathRooted(relative) && relative != ".." && !relative.StartsWith("../", StringComparison.Ordinal);
    }

    private static string BindMode(string? mode) =>
        mode is null or "" ? "ro"
        : mode.Split(',').Any(o => o is "ro" or "rw") ? mode
        : mode + ",ro";

    /// <summary>The node type says where a startup configuration goes; a type without a method cannot take one.</summary>
    private static PlannedStartupConfig? PlanStartupConfig(Node node, string who, Dictionary<string, string> env, List<string> errors)
    {
        if (node.StartupConfig is not { } config)
        {
            return null;
        }
        var method = node.NodeType.Config;
        switch (method.Injection)
        {
            case ConfigInjection.Bind when method.Path is { } path:
                return new PlannedStartupConfig(path, config.Path, config.Text);
            case ConfigInjection.Env when method.EnvVar is { } variable:
                env[variable] = config.Text ?? File.ReadAllText(config.Path!);
                return null;
            default:
                errors.Add($"{who} has a startup-config, but kind {node.Kind} takes its configuration by " +
                    $"{method.Injection.ToString().ToLowerInvariant()}, which this host runtime does not do yet; remove 'startup-config' " +
                    "or bind the file where the image expects it");
                return null;
        }
    }

    private static LinkPlan? PlanLink(Link link, List<string> errors)
    {
        if (LinkTypes.Written(link.Type) is not { } type)
        {
            errors.Add($"link {link.Number} ({string.Join(", ", link.Endpoints)}) is of type {link.Type}, which this runtime does not wire");
            return null;
        }
        // The runtime wants the node's end first; special ends (host, mgmt-net, macvlan: written `host:IF`, `mgmt-net:IF`,
        // `macvlan:IF` or as `host-interface`) come second, as an interface on the host's side (node "host").
        var ends = link.Endpoints.OrderBy(e => e.IsSpecial)
            .Select(e => new LinkEndpoint(e.IsSpecial ? PlanValidator.HostNode : e.Node, e.LinuxInterface, e.Mac)).ToList();
        var planned = new LinkPlan
        {
            Type = type.Type,
            A = ends[0],
            B = ends.Count > 1 ? ends[1] : null,
            Mtu = link.Mtu ?? type.DefaultMtu,
            Vars = link.Vars.ToDictionary(v => v.Key, v => Convert.ToString(v.Value, CultureInfo.InvariantCulture) ?? "", StringComparer.Ordinal),
        };
        return type.Complete(link, planned, errors);
    }

    private static IReadOnlyList<string>? Words(string? text, string what, List<string> errors)
    {
        if (text is null)
        {
            return null;
        }
        var words = ShellWords.Split(text, out var error);
        if (error is not null)
        {
            errors.Add($"{what}: {error}");
        }
        return words;
    }
}
