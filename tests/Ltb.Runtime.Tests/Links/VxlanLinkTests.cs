using Ltb.Runtime.Labs;
using Ltb.Runtime.Links;
using Ltb.Runtime.Links.Types;
using Ltb.Runtime.Network;
using Ltb.Runtime.Nodes;
using Ltb.Runtime.Plan;
using Ltb.Runtime.Tests.Support;
using Ltb.Testing;

namespace Ltb.Runtime.Tests.Links;

/// <summary>
/// The VXLAN link wiring between two "hosts" made of plain network namespaces (no containers): two underlay namespaces
/// joined by a veth (MTU 1500), each with a node namespace named as the runtime names them. The wiring runs as it does on
/// a host, with the underlay namespace standing in for the host's. The node sees an Ethernet interface whose frames
/// cross like a cable (link-local groups, a VLAN-tagged frame, a full-MTU frame); the underlay stays in the creating namespace.
/// </summary>
public sealed class VxlanLinkTests
{
    private static readonly byte[] Src = [0x02, 0x00, 0x00, 0x00, 0x0b, 0x01]; // not an end's own MAC: VXLAN drops frames from itself

    [Fact]
    public async Task A_vxlan_link_between_two_hosts_is_a_transparent_cable_with_the_underlay_mtu_minus_50()
    {
        Prerequisite.RequireRoot();
        Prerequisite.RequireCommand("ip");
        var id = Guid.NewGuid().ToString("N")[..6];
        var lab = $"vx-{id}";
        string u1 = $"ltbvxu1-{id}", u2 = $"ltbvxu2-{id}";
        string n1 = Names.Netns(lab, "n1"), n2 = Names.Netns(lab, "n2");
        var host = new HostNetwork();
        var vni = 0x100000 + Random.Shared.Next(0xFFFFF);
        try
        {
            foreach (var ns in new[] { u1, u2, n1, n2 })
            {
                await host.IpBatchAsync(null, [$"netns add {ns}"], false, TestLabs.Ct);
            }
            await host.IpBatchAsync(null, [$"link add vxu1{id} netns {u1} type veth peer name vxu2{id} netns {u2}"], false, TestLabs.Ct);
            await host.IpBatchAsync(u1, [$"addr add 10.251.0.1/30 dev vxu1{id}", $"link set vxu1{id} up"], false, TestLabs.Ct);
            await host.IpBatchAsync(u2, [$"addr add 10.251.0.2/30 dev vxu2{id}", $"link set vxu2{id} up"], false, TestLabs.Ct);

            var ctx = new LinkContext(lab, LinkBackend.Veth, null);
            var ends = new[]
            {
                (Net: new UnderlayNetwork(host, u1), Link: new LinkPlan { Type = LinkType.Vxlan, A = new LinkEndpoint("n1", "eth1", "02:00:00:00:0a:01"), Mtu = LinkPlan.AutoMtu, Vxlan = new VxlanPlan("10.251.0.2", vni) }),
                (Net: new UnderlayNetwork(host, u2), Link: new LinkPlan { Type = LinkType.Vxlan, A = new LinkEndpoint("n2", "eth1", "02:00:00:00:0a:02"), Mtu = LinkPlan.AutoMtu, Vxlan = new VxlanPlan("10.251.0.1", vni) }),
            };
            foreach (var (net, link) in ends)
            {
                var resolved = (await VxlanLinkType.ResolveUnderlayAsync(net, [link], TestLabs.Ct)).Single();
                Assert.Equal(1450, resolved.Mtu); // 1500 - (20 IPv4 + 8 UDP + 8 VXLAN + 14 inner Ethernet)
                Assert.StartsWith("vxu", resolved.Vxlan!.Parent);
                var batch = new WiringBatch();
                VxlanLinkType.Instance.Create(resolved, ctx, batch);
                await batch.RunAsync(net, 2, force: false, TestLabs.Ct);
            }

            // The device is in the node (MTU, MAC, VNI, port as planned); nothing of it in the underlay namespaces.
            foreach (var (ns, mac) in new[] { (n1, "02:00:00:00:0a:01"), (n2, "02:00:00:00:0a:02") })
            {
                var eth1 = (await host.ListLinksAsync(ns, TestLabs.Ct)).Single(l => l.Name == "eth1");
                Assert.Equal("vxlan", eth1.Kind);
                Assert.Equal(1450, eth1.Mtu);
                Assert.Equal(mac, eth1.Mac);
                var details = await host.RunAsync("ip", ["-n", ns, "-d", "link", "show", "eth1"], null, null, TestLabs.Ct);
                Assert.Contains($"vxlan id {vni}", details.Stdout);
                Assert.Contains("dstport 4789", details.Stdout);
            }
            foreach (var ns in new[] { u1, u2 })
            {
                Assert.DoesNotContain(await host.ListLinksAsync(ns, TestLabs.Ct), l => l.Kind == "vxlan");
            }
            // The node namespaces have no route anywhere: frames that cross did so over the underlay's socket.

            using var r1 = RawFrames.Open($"/run/netns/{n1}", "eth1");
            using var r2 = RawFrames.Open($"/run/netns/{n2}", "eth1");
            foreach (var (last, ethertype, what) in new (byte, ushort?, string)[] { (0x00, null, "STP"), (0x02, 0x8809, "LACP"), (0x0e, 0x88cc, "LLDP") })
            {
                byte[] dst = [0x01, 0x80, 0xc2, 0x00, 0x00, last];
                foreach (var (from, to, dir) in new[] { (r1, r2, "n1->n2"), (r2, r1, "n2->n1") })
                {
                    var marker = $"LTB-{what}-{dir}-{Guid.NewGuid():N}"[..30];
                    from.Send(RawFrames.Frame(dst, Src, ethertype, marker));
                    var got = to.Receive(marker, TimeSpan.FromSeconds(3));
                    Assert.True(got is not null, $"a {what} frame to 01:80:c2:00:00:{last:x2} did not cross the VXLAN link {dir}");
                    Assert.Equal(dst, got![..6]);
                }
            }

            // A frame tagged VLAN 100 crosses (the receiving kernel moves the tag into the packet's metadata, so the raw
            // socket reads it untagged; this kernel has no 8021q module to show it arriving on a VLAN interface).
            {
                var marker = $"LTB-VLAN-{Guid.NewGuid():N}"[..30];
                var inner = RawFrames.Frame([0x01, 0x80, 0xc2, 0x00, 0x00, 0x0e], Src, 0x88cc, marker);
                byte[] tagged = [.. inner[..12], 0x81, 0x00, 0x00, 100, .. inner[12..]];
                r1.Send(tagged);
                Assert.True(r2.Receive(marker, TimeSpan.FromSeconds(3)) is not null, "a frame tagged VLAN 100 did not cross");
            }

            // A frame of the full MTU (1450 bytes after the Ethernet header) crosses: 1500 bytes on the underlay.
            var big = $"LTB-BIG-{Guid.NewGuid():N}"[..30];
            var full = RawFrames.Frame([0x02, 0, 0, 0, 0x0a, 0x02], Src, 0x88b5, big.PadRight(1450));
            Assert.Equal(1464, full.Length);
            r1.Send(full);
            Assert.True(r2.Receive(big, TimeSpan.FromSeconds(3)) is { Length: 1464 }, "a full-MTU frame did not cross");

            // Removal deletes the device; deleting the node namespace would too (checked by the runtime's destroy tests).
            var removal = new WiringBatch();
            VxlanLinkType.Instance.Remove(ends[0].Link, ctx, removal);
            await removal.RunAsync(ends[0].Net, 2, force: false, TestLabs.Ct);
            Assert.DoesNotContain(await host.ListLinksAsync(n1, TestLabs.Ct), l => l.Name == "eth1");
        }
        finally
        {
            foreach (var ns in new[] { n1, n2, u1, u2 })
            {
                await host.RunAsync("ip", ["netns", "delete", ns], null, null, CancellationToken.None);
            }
        }
        // Nothing with this VNI anywhere: the node namespaces took their devices with them.
        var left = await host.RunAsync("ip", ["-d", "link", "show", "type", "vxlan"], null, null, CancellationToken.None);
        Assert.DoesNotContain($"vxlan id {vni} ", left.Stdout);
        Assert.DoesNotContain(host.ListNamespaces(), ns => ns.Contains(id, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_deployed_vxlan_link_gets_the_underlay_mtu_and_apply_and_destroy_leave_no_vxlan_device()
    {
        var vni = 0x200000 + Random.Shared.Next(0xFFFFF);
        // The remote need not answer: the device only needs a route to it (TEST-NET-2, by the default route if any).
        var tunnel = new LinkPlan { Type = LinkType.Vxlan, A = new LinkEndpoint("n2", "eth2"), Mtu = LinkPlan.AutoMtu, Vxlan = new VxlanPlan("198.51.100.7", vni) };
        var pair = TestLabs.Pair(TestLabs.UniqueName("vx"), LinkBackend.Veth);
        await using var lab = await LabUnderTest.RequireAsync(pair with { Links = [.. pair.Links, tunnel] }, TestLabs.TinyImage);
        var (runtime, net, plan) = (lab.Runtime, lab.Net, lab.Plan);
        var route = await net.RunAsync("ip", ["-json", "route", "get", "198.51.100.7"], null, null, TestLabs.Ct);
        Prerequisite.Require(route.Succeeded, "a route to 198.51.100.7 (a default route)");
        async Task<bool> HostHasVni() =>
            (await net.RunAsync("ip", ["-d", "link", "show", "type", "vxlan"], null, null, TestLabs.Ct)).Stdout.Contains($"vxlan id {vni} ", StringComparison.Ordinal);
        var status = await lab.DeployAsync(new DeployOptions { OnFailure = FailurePolicy.Rollback });
        var device = System.Text.Json.JsonDocument.Parse(route.Stdout).RootElement[0].GetProperty("dev").GetString();
        var underlay = (await net.ListLinksAsync(null, TestLabs.Ct)).Single(l => l.Name == device).Mtu;
        Assert.Equal(underlay - 50, status.Node("n2").Interfaces.Single(i => i.Name == "eth2").Mtu);
        Assert.Equal("vxlan", (await net.ListLinksAsync(Names.Netns(plan.LabName, "n2"), TestLabs.Ct)).Single(l => l.Name == "eth2").Kind);
        Assert.False(await HostHasVni(), "the vxlan device is in the host's namespace, not the node's");

        // Apply without the tunnel removes it; with it again brings it back.
        await lab.ApplyAsync(plan with { Links = [plan.Links[0]] });
        Assert.DoesNotContain(await net.ListLinksAsync(Names.Netns(plan.LabName, "n2"), TestLabs.Ct), l => l.Name == "eth2");
        Assert.False(await HostHasVni());
        await lab.ApplyAsync(plan);
        Assert.Contains(await net.ListLinksAsync(Names.Netns(plan.LabName, "n2"), TestLabs.Ct), l => l.Name == "eth2" && l.Kind == "vxlan");
        await lab.DestroyAsync();
        Assert.False(await HostHasVni());
        await lab.AssertNoLeftoversAsync();
    }

    /// <summary>The host network of a host whose own namespace is <paramref name="underlay"/> (what `ltb agent` sees inside a netns).</summary>
    private sealed class UnderlayNetwork(HostNetwork host, string underlay) : IHostNetwork
    {
        public Task IpBatchAsync(string? netns, IReadOnlyList<string> lines, bool force, CancellationToken ct) => host.IpBatchAsync(netns ?? underlay, lines, force, ct);
        public Task TcBatchAsync(string? netns, IReadOnlyList<string> lines, bool force, CancellationToken ct) => host.TcBatchAsync(netns ?? underlay, lines, force, ct);
        public Task<IReadOnlyList<Network.HostLink>> ListLinksAsync(string? netns, CancellationToken ct) => host.ListLinksAsync(netns ?? underlay, ct);
        public IReadOnlyList<string> ListNamespaces() => host.ListNamespaces();
        public Task<IReadOnlyList<Status.InterfaceDetails>> ReadInterfacesAsync(string netns, CancellationToken ct) => host.ReadInterfacesAsync(netns, ct);
        public Task<string> OvsVsctlAsync(IReadOnlyList<IReadOnlyList<string>> commands, CancellationToken ct) => host.OvsVsctlAsync(commands, ct);
        public Task OvsAddFlowsAsync(string bridge, IReadOnlyList<string> flows, CancellationToken ct) => host.OvsAddFlowsAsync(bridge, flows, ct);
        public Task<bool> SupportsLinkKindAsync(string kind, CancellationToken ct) => host.SupportsLinkKindAsync(kind, ct);
        public Task<bool> OvsAvailableAsync(CancellationToken ct) => host.OvsAvailableAsync(ct);
        public Task AllowBridgedAsync(IReadOnlyList<(string Bridge, string Comment)> bridges, CancellationToken ct) => Task.CompletedTask;
        public Task RemoveFirewallRulesAsync(string commentPrefix, CancellationToken ct) => Task.CompletedTask;
        public Task<ProcessResult> RunAsync(string file, IReadOnlyList<string> args, string? stdin, TimeSpan? timeout, CancellationToken ct) =>
            file == "ip" ? host.RunAsync("ip", ["-n", underlay, .. args], stdin, timeout, ct) : host.RunAsync(file, args, stdin, timeout, ct);
    }
}
