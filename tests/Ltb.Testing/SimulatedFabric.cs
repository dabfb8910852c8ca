using System.Net;
using System.Security.Cryptography;

namespace Ltb.Testing;

/// <summary>
/// The network between simulated lab hosts (the "underlay" of labs that span hosts): a Linux bridge in a namespace of its
/// own, so that traffic between the hosts never meets the root namespace's firewall (Docker sets FORWARD to DROP there).
/// Each joined host gets an interface <c>fab0</c> with <see cref="AddressOf"/> in 10.214.N.0/24. Disposing removes the
/// namespace, which takes the bridge and every joined veth pair with it.
/// </summary>
public sealed class SimulatedFabric : IAsyncDisposable
{
    public const string Prefix = "ltbfab-";
    private readonly Dictionary<string, IPAddress> _addresses = [];
    private readonly int _subnet;

    private SimulatedFabric(string id, int subnet)
    {
        Namespace = Prefix + id;
        _subnet = subnet;
    }

    public string Namespace { get; }

    public static async Task<SimulatedFabric> StartAsync()
    {
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3));
        var fabric = new SimulatedFabric(id, RandomNumberGenerator.GetInt32(1, 255));
        (await HostCommand.RunAsync("ip", "netns", "add", fabric.Namespace)).EnsureSuccess("ip netns add");
        await fabric.InsideOk("ip", "link", "add", "br0", "type", "bridge");
        await fabric.InsideOk("ip", "link", "set", "br0", "up");
        await fabric.InsideOk("ip", "link", "set", "lo", "up");
        return fabric;
    }

    /// <summary>The host's address on the fabric (where other hosts reach it), once joined.</summary>
    public IPAddress AddressOf(SimulatedHost host) => _addresses[host.Namespace];

    /// <summary>Connects a host to the bridge: a veth pair, <c>fab0</c> inside the host with the next free address.</summary>
    public async Task<IPAddress> JoinAsync(SimulatedHost host)
    {
        var address = IPAddress.Parse($"10.214.{_subnet}.{_addresses.Count + 1}");
        var port = $"fp-{host.Id}";
        var inside = $"fh-{host.Id}";
        (await HostCommand.RunAsync("ip", "link", "add", port, "type", "veth", "peer", "name", inside)).EnsureSuccess("ip link add");
        (await HostCommand.RunAsync("ip", "link", "set", port, "netns", Namespace)).EnsureSuccess("ip link set netns");
        (await HostCommand.RunAsync("ip", "link", "set", inside, "netns", host.Namespace)).EnsureSuccess("ip link set netns");
        await InsideOk("ip", "link", "set", port, "master", "br0", "up");
        (await host.Inside("ip", "link", "set", inside, "name", "fab0")).EnsureSuccess("rename fab0");
        (await host.Inside("ip", "addr", "add", $"{address}/24", "dev", "fab0")).EnsureSuccess("ip addr add");
        (await host.Inside("ip", "link", "set", "fab0", "up")).EnsureSuccess("ip link set up");
        _addresses[host.Namespace] = address;
        return address;
    }

    private async Task InsideOk(params string[] args) =>
        (await HostCommand.RunAsync("nsenter", [$"--net=/run/netns/{Namespace}", "--", .. args])).EnsureSuccess(string.Join(' ', args));

    public async ValueTask DisposeAsync() => await HostCommand.RunAsync("ip", "netns", "del", Namespace);
}
