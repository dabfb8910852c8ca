using Docker.DotNet.Models;
using Ltb.Runtime.Docker;
using Ltb.Runtime.Labs;
using Ltb.Runtime.Network;
using Ltb.Runtime.Nodes;
using Ltb.Runtime.Nodes.Vm;
using Ltb.Runtime.Plan;

namespace Ltb.Runtime.Tests.Support;

/// <summary>
/// Everything on this host that belongs to one lab: containers and networks (by label and by name), host interfaces (by
/// alias and by the names the plan's links would use), OVS bridges and ports (by external id and by name), pinned
/// namespaces, the lab's state folder, VM nodes' QEMU processes, folders, sockets and cgroups. Only this lab's objects are compared: other engineers' tests run beside ours.
/// </summary>
public sealed record Leftovers(IReadOnlyList<string> Items)
{
    public bool IsEmpty => Items.Count == 0;
    public override string ToString() => Items.Count == 0 ? "nothing" : string.Join(", ", Items);

    public static async Task<Leftovers> FindAsync(DockerEngine engine, IHostNetwork net, LabPlan plan, string stateDirectory)
    {
        var lab = plan.LabName;
        var items = new List<string>();
        var containers = await engine.Client.Containers.ListContainersAsync(new ContainersListParameters { All = true });
        items.AddRange(containers.Where(c => c.Labels.TryGetValue(Names.LabLabel, out var l) && l == lab || c.Names.Any(n => n.StartsWith($"/ltb-{lab}-", StringComparison.Ordinal)))
            .Select(c => $"container {c.Names.First()}"));
        var networks = await engine.Client.Networks.ListNetworksAsync(new NetworksListParameters());
        items.AddRange(networks.Where(n => n.Labels?.TryGetValue(Names.LabLabel, out var l) == true && l == lab || n.Name == plan.MgmtNetworkName)
            .Select(n => $"network {n.Name}"));

        var hostNames = plan.Links.SelectMany(l => new[] { Names.HostVeth(lab, l, 'a'), Names.HostVeth(lab, l, 'b'), Names.LinuxBridge(lab, l), Names.OvsBridge(lab, l) })
            .ToHashSet(StringComparer.Ordinal);
        items.AddRange((await net.ListLinksAsync(null, CancellationToken.None))
            .Where(l => l.Alias?.StartsWith(Names.AliasPrefix(lab), StringComparison.Ordinal) == true || hostNames.Contains(l.Name))
            .Select(l => $"host interface {l.Name}"));

        if (await net.OvsAvailableAsync(CancellationToken.None))
        {
            var byId = await net.OvsVsctlAsync([["--bare", "--columns=name", "find", "bridge", $"external_ids:ltb-lab={lab}"]], CancellationToken.None);
            var ports = await net.OvsVsctlAsync([["--bare", "--columns=name", "find", "interface", $"external_ids:ltb-lab={lab}"]], CancellationToken.None);
            var all = await net.OvsVsctlAsync([["list-br"]], CancellationToken.None);
            items.AddRange(byId.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(b => $"ovs bridge {b}"));
            items.AddRange(ports.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(b => $"ovs port {b}"));
            items.AddRange(all.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(hostNames.Contains).Select(b => $"ovs bridge {b}"));
        }
        var rules = await net.RunAsync("iptables", ["-w", "5", "-S"], null, null, CancellationToken.None);
        items.AddRange(rules.Stdout.Split('\n').Where(l => l.Replace("\"", "", StringComparison.Ordinal).Contains($"--comment {Names.AliasPrefix(lab)}", StringComparison.Ordinal)).Select(l => $"firewall rule {l}"));
        items.AddRange(net.ListNamespaces().Where(n => n.StartsWith($"ltb-{lab}-", StringComparison.Ordinal)).Select(n => $"netns {n}"));
        if (Directory.Exists(Path.Combine(stateDirectory, lab)))
        {
            items.Add($"state folder {Path.Combine(stateDirectory, lab)}");
        }
        items.AddRange(VmLeftovers(plan, stateDirectory));
        return new Leftovers(items.Distinct().ToList());
    }

    /// <summary>What a VM node leaves if not removed: its QEMU, its folder (overlay, console log), sockets and cgroup.</summary>
    private static IEnumerable<string> VmLeftovers(LabPlan plan, string stateDirectory)
    {
        var root = new RuntimeOptions { StateDirectory = stateDirectory }.EffectiveVmDirectory;
        if (Directory.Exists(Path.Combine(root, plan.LabName)))
        {
            yield return $"VM folder {Path.Combine(root, plan.LabName)}";
        }
        foreach (var node in plan.Nodes)
        {
            var files = new VmNodeFiles(root, plan.LabName, node.Name);
            if (Directory.Exists(files.SocketFolder))
            {
                yield return $"VM socket folder {files.SocketFolder}";
            }
            var cgroup = VmNodes.CgroupName(files);
            foreach (var c in new[] { $"/sys/fs/cgroup/memory/ltb-vm/{cgroup}", $"/sys/fs/cgroup/ltb-vm/{cgroup}" }.Where(Directory.Exists))
            {
                yield return $"cgroup {c}";
            }
            foreach (var pid in Directory.GetDirectories("/proc").Select(Path.GetFileName).Where(p => p!.All(char.IsAsciiDigit)))
            {
                string cmdline;
                try
                {
                    cmdline = File.ReadAllText($"/proc/{pid}/cmdline");
                }
                catch (IOException)
                {
                    continue;
                }
                if (cmdline.StartsWith("qemu-system", StringComparison.Ordinal) && cmdline.Contains(files.SocketFolder, StringComparison.Ordinal))
                {
                    yield return $"qemu process {pid}";
                }
            }
        }
    }
}
