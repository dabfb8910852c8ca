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
internal sealed class MgmtNetworks(DockerEngine engine, IHostNetwork net)
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
                return await TryCreateAsync(plan, m.Ipv4Subnet, ct) ?? throw new LabRuntimeException(plan.LabName, null,
                    $"the management subnet {m.Ipv4Subnet} overlaps a network that exists on this host; choose another or leave it out (automatic)");
            }
            var pool = IPNetwork.Parse(options.MgmtIpv4Pool);
            // Docker may refuse a subnet that no list shows (a network of another process being created or removed
            // right now): such a subnet is not tried again in this deployment.
            var refused = new List<IPNetwork>();
            for (var attempt = 0; attempt < 32; attempt++)
            {
                var taken = await TakenAsync(ct);
                taken.AddRange(refused);
                var free = Candidates(pool).FirstOrDefault(c => !taken.Any(t => Overlaps(t, c)));
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

    private async Task<List<IPNetwork>> TakenAsync(CancellationToken ct)
    {
        var taken = new List<IPNetwork>();
        foreach (var n in await engine.Client.Networks.ListNetworksAsync(new NetworksListParameters(), ct))
        {
            foreach (var c in n.IPAM?.Config ?? [])
            {
                if (c.Subnet is not null && IPNetwork.TryParse(c.Subnet, out var s) && s.BaseAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
                {
                    taken.Add(s);
                }
            }
        }
        var routes = await net.RunAsync("ip", ["-json", "-4", "route", "show", "table", "all"], null, null, ct);
        if (routes.Succeeded)
        {
            using var doc = JsonDocument.Parse(routes.Stdout);
            foreach (var r in doc.RootElement.EnumerateArray())
            {
                var dst = r.TryGetProperty("dst", out var d) ? d.GetString() : null;
                if (dst is null or "default")
                {
                    continue;
                }
                if (!dst.Contains('/', StringComparison.Ordinal))
                {
                    dst += "/32";
                }
                if (IPNetwork.TryParse(dst, out var s) && s.PrefixLength > 0)
                {
                    taken.Add(s);
                }
            }
        }
        return taken;
    }

    public async Task<IList<NetworkResponse>> ListAsync(string lab, CancellationToken ct) =>
        await engine.Client.Networks.ListNetworksAsync(new NetworksListParameters { Filters = ContainerNodes.LabFilter(lab) }, ct);

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
