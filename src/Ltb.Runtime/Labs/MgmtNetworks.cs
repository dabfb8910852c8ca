using System.Net;
using System.Text.Json;
using Docker.DotNet;
using Docker.DotNet.Models;
using Ltb.Runtime.Docker;
using Ltb.Runtime.Network;
using Ltb.Runtime.Nodes;
using Ltb.Runtime.Plan;
using Ltb.Runtime.Status;

namespace Ltb.Runtime.Labs;

/// <summary>
/// The lab's management network: a Docker bridge network labelled with the lab. Without a pinned subnet, the first /24 of
/// the pool that overlaps no Docker network and no host route is taken; a concurrent creator (another process) that wins
/// the same subnet makes Docker refuse ours, and the next free one is tried.
/// </summary>
internal sealed class MgmtNetworks(DockerEngine engine, IHostNetwork net) : IMgmtNetworks
{
    private static readonly SemaphoreSlim Gate = new(1, 1);

    /// <summary>Docker's bridge networks have an MTU of 1500 unless told otherwise.</summary>
    public const int DefaultMtu = 1500;

    public async Task<MgmtState> CreateAsync(LabPlan plan, DeployOptions options, CancellationToken ct)
    {
        var m = plan.Mgmt;
        await Gate.WaitAsync(ct);
        try
        {
            if (m.Ipv4Subnet is not null)
            {
                await CheckPinnedAsync(plan, ct);
                return await TryCreateAsync(plan, m.Ipv4Subnet, ct) ?? throw new LabRuntimeException(plan.LabName, null,
                    $"the management subnet {m.Ipv4Subnet} overlaps a network that exists on this host; choose another or leave it out (automatic)");
            }
            var pool = IPNetwork.Parse(options.MgmtIpv4Pool);
            // Docker may refuse a subnet that no list shows (a network of another process being created or removed
            // right now): such a subnet is not tried again in this deployment.
            var refused = new List<IPNetwork>();
            for (var attempt = 0; attempt < 32; attempt++)
            {
                var taken = (await TakenAsync(System.Net.Sockets.AddressFamily.InterNetwork, ct)).Select(t => t.Network).ToList();
                taken.AddRange(refused);
                var free = Preferred(pool, m.PreferredIpv4Subnet).Concat(Candidates(pool)).FirstOrDefault(c => !taken.Any(t => Overlaps(t, c)));
                if (free == default)
                {
                    break;
                }
                var created = await TryCreateAsync(plan, free.ToString(), ct);
                if (created is not null)
                {
                    return created;
                }
                refused.Add(free);
            }
            throw new LabRuntimeException(plan.LabName, null, $"no free /24 management subnet is left in {options.MgmtIpv4Pool}; pin one in the topology (mgmt ipv4-subnet)");
        }
        finally
        {
            Gate.Release();
        }
    }

    private async Task<MgmtState?> TryCreateAsync(LabPlan plan, string subnet4, CancellationToken ct)
    {
        var m = plan.Mgmt;
        // The gateways are chosen here (not left to Docker) because LTB configures them in the nodes it wires itself.
        var gateway4 = m.Ipv4Gateway ?? MgmtAllocator.FirstHost(subnet4);
        var gateway6 = m.Ipv6Subnet is null ? null : m.Ipv6Gateway ?? MgmtAllocator.FirstHost(m.Ipv6Subnet);
        var ipam = new List<IPAMConfig> { new() { Subnet = subnet4, Gateway = gateway4 } };
        if (m.Ipv6Subnet is not null)
        {
            ipam.Add(new IPAMConfig { Subnet = m.Ipv6Subnet, Gateway = gateway6! });
        }
        var options = new Dictionary<string, string>();
        if (m.Mtu is { } mtu)
        {
            options["com.docker.network.driver.mtu"] = mtu.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        try
        {
            var r = await engine.Client.Networks.CreateNetworkAsync(new NetworksCreateParameters
            {
                Name = plan.MgmtNetworkName,
                Driver = "bridge",
                EnableIPv6 = m.Ipv6Subnet is not null,
                IPAM = new IPAM { Config = ipam },
                Options = options,
                Labels = new Dictionary<string, string> { [Names.LabLabel] = plan.LabName },
            }, ct);
            // Docker names a bridge network's device br-<first 12 of the id> unless the options name it (LTB's never do).
            return new MgmtState($"br-{r.ID[..12]}", subnet4, gateway4, m.Ipv6Subnet, gateway6, m.Mtu ?? DefaultMtu,
                new Dictionary<string, MgmtAddresses>(StringComparer.Ordinal));
        }
        catch (DockerApiException e) when (ContainerNodes.DockerMessage(e).Contains("overlap", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }
        catch (DockerApiException e)
        {
            throw new LabRuntimeException(plan.LabName, null, $"the management network {plan.MgmtNetworkName} could not be created: {ContainerNodes.DockerMessage(e)}", e);
        }
    }

    /// <summary>The plan's preferred subnet when it is one of the pool's candidates (a /24 inside it); else none.</summary>
    private static IEnumerable<IPNetwork> Preferred(IPNetwork pool, string? preferred) =>
        IPNetwork.TryParse(preferred, out var p) && p.PrefixLength == Math.Max(24, pool.PrefixLength) && pool.Contains(p.BaseAddress) ? [p] : [];

    private static IEnumerable<IPNetwork> Candidates(IPNetwork pool)
    {
        if (pool.PrefixLength > 24)
        {
            yield return pool;
            yield break;
        }
        var b = pool.BaseAddress.GetAddressBytes();
        var count = 1 << (24 - pool.PrefixLength);
        var start = (uint)(b[0] << 24 | b[1] << 16 | b[2] << 8);
        for (uint i = 0; i < count; i++)
        {
            var v = start + (i << 8);
            yield return new IPNetwork(new IPAddress([(byte)(v >> 24), (byte)(v >> 16), (byte)(v >> 8), 0]), 24);
        }
    }

    private static bool Overlaps(IPNetwork a, IPNetwork b) => a.Contains(b.BaseAddress) || b.Contains(a.BaseAddress);

    /// <summary>
    /// A pinned subnet (IPv4 and IPv6) is refused when it overlaps a Docker network (another lab's management network,
    /// Docker's own) or any address or route of the host: its nodes would shadow the host's own neighbours or another
    /// lab's nodes, for every caller (an administrator's topology too). A pinned gateway must lie in its subnet.
    /// </summary>
    public async Task CheckPinnedAsync(LabPlan plan, CancellationToken ct)
    {
        var m = plan.Mgmt;
        foreach (var (subnet, gateway, key) in new[] { (m.Ipv4Subnet, m.Ipv4Gateway, "ipv4"), (m.Ipv6Subnet, m.Ipv6Gateway, "ipv6") })
        {
            if (subnet is null)
            {
                continue;
            }
            if (!IPNetwork.TryParse(subnet, out var pinned))
            {
                throw new LabRuntimeException(plan.LabName, null, $"the management {key}-subnet '{subnet}' is not a subnet in CIDR form (e.g. 172.20.20.0/24)");
            }
            if (gateway is not null && (!IPAddress.TryParse(gateway, out var gw) || !pinned.Contains(gw)))
            {
                throw new LabRuntimeException(plan.LabName, null,
                    $"the management {key}-gw '{gateway}' is not an address in the management subnet {subnet}; choose an address inside it or leave the gateway out (the subnet's first address)");
            }
            foreach (var (network, what) in await TakenAsync(pinned.BaseAddress.AddressFamily, ct))
            {
                if (Overlaps(network, pinned))
                {
                    throw new LabRuntimeException(plan.LabName, null,
                        $"the management subnet {subnet} overlaps {what} on this host; pin a subnet that no host address, route or other network uses, " +
                        $"or leave mgmt {key}-subnet out (LTB then picks a free one)");
                }
            }
        }
    }

    /// <summary>What uses address space on this host: Docker's networks (named, with their lab), then the host's addresses and routes.</summary>
    private async Task<List<(IPNetwork Network, string What)>> TakenAsync(System.Net.Sockets.AddressFamily family, CancellationToken ct)
    {
        var taken = new List<(IPNetwork, string)>();
        foreach (var n in await engine.Client.Networks.ListNetworksAsync(new NetworksListParameters(), ct))
        {
            var what = n.Labels?.TryGetValue(Names.LabLabel, out var lab) == true
                ? $"the management network of lab '{lab}' ({n.Name})"
                : $"the Docker network '{n.Name}'";
            foreach (var c in n.IPAM?.Config ?? [])
            {
                if (c.Subnet is not null && IPNetwork.TryParse(c.Subnet, out var s) && s.BaseAddress.AddressFamily == family)
                {
                    taken.Add((s, $"{what} ({c.Subnet})"));
                }
            }
        }
        var v = family == System.Net.Sockets.AddressFamily.InterNetwork ? "-4" : "-6";
        var routes = await net.RunAsync("ip", ["-json", v, "route", "show", "table", "all"], null, null, ct);
        if (routes.Succeeded)
        {
            using var doc = JsonDocument.Parse(routes.Stdout);
            foreach (var r in doc.RootElement.EnumerateArray())
            {
                var dst = r.TryGetProperty("dst", out var d) ? d.GetString() : null;
                var type = r.TryGetProperty("type", out var t) ? t.GetString() : null;
                var dev = r.TryGetProperty("dev", out var e) ? $" (dev {e.GetString()})" : "";
                if (dst is null or "default" || type is "multicast" or "broadcast")
                {
                    continue;
                }
                if (!dst.Contains('/', StringComparison.Ordinal))
                {
                    dst += family == System.Net.Sockets.AddressFamily.InterNetwork ? "/32" : "/128";
                }
                if (IPNetwork.TryParse(dst, out var s) && s.PrefixLength > 0)
                {
                    var full = s.PrefixLength == (family == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128);
                    taken.Add((s, type != "local" ? $"the host's route to {dst}{dev}"
                        : full ? $"the host's address {s.BaseAddress}{dev}" : $"the host's local addresses {dst}{dev}"));
                }
            }
        }
        return taken;
    }

    public async Task<IReadOnlyList<MgmtNetworkInfo>> ListAsync(string lab, CancellationToken ct) =>
        (await engine.Client.Networks.ListNetworksAsync(new NetworksListParameters { Filters = ContainerNodes.LabFilter(lab) }, ct))
            .Select(n => new MgmtNetworkInfo(n.ID, n.Name, (n.IPAM?.Config ?? []).Select(c => c.Subnet).OfType<string>().ToList()))
            .ToList();

    public async Task<IReadOnlyList<string>> ListLabNamesAsync(CancellationToken ct) =>
        (await engine.Client.Networks.ListNetworksAsync(new NetworksListParameters
        {
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [Names.LabLabel] = true } },
        }, ct)).Select(n => n.Labels[Names.LabLabel]).Distinct(StringComparer.Ordinal).ToList();

    public async Task RemoveAsync(string id, CancellationToken ct)
    {
        try
        {
            await engine.Client.Networks.DeleteNetworkAsync(id, ct);
        }
        catch (DockerNetworkNotFoundException)
        {
        }
    }
}
