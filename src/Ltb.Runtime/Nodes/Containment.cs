using System.Globalization;
using Docker.DotNet.Models;
using Ltb.Runtime.Labs;
using Ltb.Runtime.Status;
using Ltb.Runtime.Plan;

namespace Ltb.Runtime.Nodes;

/// <summary>
/// What a node runs with on the host besides its own settings: the walls between a root process in the node and the
/// host (docs/security.md, "Privileges" and "Resources and quotas"). Every node gets them, an administrator's too.
/// </summary>
internal static class Containment
{
    /// <summary>Files of the container log kept per node (the current one and one rotated).</summary>
    public const int LogFiles = 2;

    /// <summary>
    /// Security options of every node. no-new-privileges: a setuid binary in the image gives no capability the node
    /// does not have. The default seccomp profile stays on (never "unconfined"); the engine applies its default AppArmor
    /// profile by itself where the host has AppArmor.
    /// </summary>
    public static IList<string> SecurityOptions() => ["no-new-privileges"];

    /// <summary>Sets the node's limits, devices and log on its host configuration.</summary>
    public static void Apply(HostConfig host, NodePlan node)
    {
        host.SecurityOpt = SecurityOptions();
        host.Devices = []; // no host device, whatever the image asks
        host.NanoCPUs = node.Cpu is { } cpu ? (long)Math.Round(cpu * 1e9) : 0;
        host.Memory = node.Memory ?? 0;
        // Swap equal to the memory limit: the node gets no swap beyond its hard limit (Docker's default is twice).
        host.MemorySwap = node.Memory is { } m ? m : 0;
        host.PidsLimit = node.PidsLimit;
        if (node.LogMaxBytes is { } log)
        {
            host.LogConfig = new LogConfig
            {
                Type = "json-file",
                Config = new Dictionary<string, string>
                {
                    ["max-size"] = log.ToString(CultureInfo.InvariantCulture),
                    ["max-file"] = LogFiles.ToString(CultureInfo.InvariantCulture),
                },
            };
        }
    }

    /// <summary>
    /// The network mode Docker gets for a node. container:NODE names a node of the lab and becomes its container; a
    /// name that is no node of the lab goes to Docker as is only in a trusted plan (an administrator's), and is refused
    /// otherwise, so that no student's node joins the namespace of a container outside its lab.
    /// </summary>
    public static string NetworkMode(LabPlan plan, NodePlan node, string mode)
    {
        if (Names.SharedNetworkNode(mode) is not { } target)
        {
            return mode;
        }
        if (plan.Nodes.Any(n => n.Name == target))
        {
            return "container:" + Names.Container(plan.LabName, target);
        }
        if (plan.Trusted)
        {
            return mode;
        }
        throw new LabRuntimeException(plan.LabName, node.Name,
            $"network-mode {mode} names '{target}', which is no node of this lab; a node may share the network of a node " +
            "of its own lab only (network-mode: container:NODE), other containers need an administrator");
    }
}
