using Ltb.Runtime.Labs;
using Ltb.Runtime.Network;
using Ltb.Runtime.Nodes;
using Ltb.Runtime.Plan;
using Ltb.Runtime.Planning;
using Ltb.Runtime.Status;
using Ltb.Runtime.Tests.Support;
using Ltb.Testing;
using Ltb.Topology;

namespace Ltb.Runtime.Tests.Links;

/// <summary>
/// The link types that touch the host, written as containerlab documents them (brief `host:`, `mgmt-net:`, `macvlan:`
/// endpoints and the extended `type:` forms), loaded and planned as an administrator's topology and deployed: a frame
/// crosses each. The host's side is made for the test: a veth pair whose far end sits in a namespace of its own (the
/// macvlan parent, this kernel has no dummy interfaces), and a namespace on a veth with a vxlan device of its own (the
/// VXLAN peer). `dummy` is refused before anything is created, since this kernel lacks the module.
/// </summary>
public sealed class HostLinkTypesTests
{
    private static readonly byte[] Broadcast = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
    private static readonly byte[] Src = [0x02, 0x00, 0x00, 0x00, 0x0c, 0x01];
    private const string RootNetns = "/proc/self/ns/net"; // the test process runs in the host's namespace

    private static LabPlan Plan(string yaml, string lab)
    {
        var loaded = TopologyLoader.LoadText(yaml, Path.Combine(Path.GetTempPath(), "lab.clab.yml"),
            new LoadOptions { Environment = new Dictionary<string, string>(), Trusted = true });
        Assert.False(loaded.HasErrors, string.Join("\n", loaded.Diagnostics));
        var planned = LabPlanner.Plan(loaded.Lab!, new PlanningOptions { LabName = lab, Trusted = true });
        Assert.True(planned.Succeeded, string.Join("\n", planned.Errors));
        return planned.Plan!;
    }

    [Fact]
    public async Task Host_mgmt_net_macvlan_vxlan_and_vxlan_stitch_links_as_containerlab_writes_them_carry_frames()
    {
        var lab = TestLabs.UniqueName("hl");
        var id = lab[^6..];
        var third = Random.Shared.Next(100, 250);
        string parent = $"lp{id}", parentPeer = $"lq{id}", far = $"ltbfar-{id}", underlay = $"lr{id}", underlayPeer = $"lu{id}";
        string host1 = $"lh{id}", host2 = $"lx{id}", mgmt = $"lm{id}";
        var (vni1, vni2) = (0x300000 + Random.Shared.Next(0xFFFF), 0x310000 + Random.Shared.Next(0xFFFF));
        var (local, remote) = ($"10.252.{third}.1", $"10.252.{third}.2");
        var yaml = $$"""
            name: {{lab}}
            topology:
              nodes:
                n1: {kind: linux, image: "{{TestLabs.TinyImage}}"}
                n2: {kind: linux, image: "{{TestLabs.TinyImage}}"}
              links:
                - endpoints: ["n1:eth1", "host:{{host1}}"]
                - endpoints: ["n1:eth2", "mgmt-net:{{mgmt}}"]
                - endpoints: ["n2:eth1", "macvlan:{{parent}}"]
                - type: macvlan
                  endpoint: {node: n2, interface: eth2}
                  host-interface: {{parent}}
                  mode: private
                - type: host
                  endpoint: {node: n2, interface: eth3}
                  host-interface: {{host2}}
                - type: vxlan
                  endpoint: {node: n1, interface: eth3}
                  remote: {{remote}}
                  vni: {{vni1}}
                - type: vxlan-stitch
                  endpoint: {node: n2, interface: eth4}
                  remote: {{remote}}
                  vni: {{vni2}}
                  dst-port: 4789
            """;
        await using var fixture = await LabUnderTest.RequireAsync(Plan(yaml, lab), TestLabs.TinyImage);
        var (net, plan) = (fixture.Net, fixture.Plan);
        Assert.All(plan.Links.Where(l => l.B is not null), l => Assert.Equal(PlanValidator.HostNode, l.B!.Node));
        Assert.Equal("private", plan.Links.Single(l => l.A.Interface == "eth2" && l.A.Node == "n2").Vars["mode"]);
        var ok = false;
        try
        {
            // The macvlan parent: a veth whose peer is in a namespace of its own. The VXLAN peer: a namespace behind a veth.
            await net.IpBatchAsync(null, [$"netns add {far}", $"link add {parent} type veth peer name {parentPeer} netns {far}", $"link set {parent} up",
                $"link add {underlay} type veth peer name {underlayPeer} netns {far}", $"addr add {local}/30 dev {underlay}", $"link set {underlay} up"], false, TestLabs.Ct);
            await net.IpBatchAsync(far, [$"link set {parentPeer} up", $"addr add {remote}/30 dev {underlayPeer}", $"link set {underlayPeer} up",
                $"link add vx1 type vxlan id {vni1} remote {local} dstport 4789 dev {underlayPeer}", "link set vx1 up",
                $"link add vx2 type vxlan id {vni2} remote {local} dstport 4789 dev {underlayPeer}", "link set vx2 up"], false, TestLabs.Ct);

            var status = await fixture.DeployAsync(new DeployOptions { OnFailure = FailurePolicy.Rollback });
            Assert.Equal(LabState.Running, status.State);
            var bridge = (await net.ListLinksAsync(null, TestLabs.Ct)).Single(l => l.Name == mgmt).Master!;
            string Ns(string node) => $"/run/netns/{Names.Netns(lab, node)}";
            var farNs = $"/run/netns/{far}";
            foreach (var (what, fromNs, fromIf, toNs, toIf) in new[]
            {
                ("host (brief)", Ns("n1"), "eth1", RootNetns, host1),
                ("host (extended)", Ns("n2"), "eth3", RootNetns, host2),
                ("mgmt-net (brief)", Ns("n1"), "eth2", RootNetns, bridge),
                ("macvlan (brief)", Ns("n2"), "eth1", farNs, parentPeer),
                ("macvlan (extended, private)", Ns("n2"), "eth2", farNs, parentPeer),
                ("vxlan", Ns("n1"), "eth3", farNs, "vx1"),
                ("vxlan-stitch", Ns("n2"), "eth4", farNs, "vx2"),
                ("vxlan, from the peer", farNs, "vx1", Ns("n1"), "eth3"),
                ("vxlan-stitch, from the peer", farNs, "vx2", Ns("n2"), "eth4"),
            })
            {
                using var from = RawFrames.Open(fromNs, fromIf);
                using var to = RawFrames.Open(toNs, toIf);
                var marker = $"LTB-{Guid.NewGuid():N}"[..24];
                from.Send(RawFrames.Frame(Broadcast, Src, 0x88b5, marker));
                Assert.True(to.Receive(marker, TimeSpan.FromSeconds(3)) is not null, $"a frame did not cross the {what} link ({fromIf} -> {toIf})");
            }
            ok = true;
        }
        finally
        {
            await fixture.DestroyAsync();
            await net.RunAsync("ip", ["link", "del", parent], null, null, CancellationToken.None);
            await net.RunAsync("ip", ["link", "del", underlay], null, null, CancellationToken.None);
            await net.RunAsync("ip", ["netns", "delete", far], null, null, CancellationToken.None);
        }
        Assert.True(ok);
        var after = await net.ListLinksAsync(null, TestLabs.Ct);
        Assert.DoesNotContain(after, l => l.Name == host1 || l.Name == host2 || l.Name == mgmt);
        await fixture.AssertNoLeftoversAsync();
    }

    [Fact]
    public async Task A_dummy_link_is_refused_before_anything_is_created_on_a_kernel_without_the_module()
    {
        var lab = TestLabs.UniqueName("dm");
        await using var fixture = await LabUnderTest.RequireAsync(Plan($$"""
            name: {{lab}}
            topology:
              nodes:
                n1: {kind: linux, image: "{{TestLabs.TinyImage}}"}
              links:
                - type: dummy
                  endpoint: {node: n1, interface: eth1}
            """, lab), TestLabs.TinyImage);
        Prerequisite.Require(!await fixture.Net.SupportsLinkKindAsync("dummy", TestLabs.Ct), "a kernel without the dummy module (this test proves the refusal)");
        var e = await Assert.ThrowsAsync<LabRuntimeException>(() => fixture.DeployAsync());
        Assert.Contains("the dummy link type needs the Linux 'dummy' kernel module", e.Message);
        Assert.Contains("n1:eth1", e.Message);
        await fixture.AssertNoLeftoversAsync();
    }
}
