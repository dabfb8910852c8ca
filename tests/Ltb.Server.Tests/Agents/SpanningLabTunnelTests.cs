using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Ltb.Server.Api;
using Ltb.Server.Tests.Infrastructure;
using Ltb.Testing;

namespace Ltb.Server.Tests.Agents;

/// <summary>
/// Issue 10, links and interfaces on the host: a node cannot inject frames into another lab's VXLAN tunnel. Lab X spans
/// two simulated hosts (x1 on A, x2 on B, their link a tunnel); lab Y's node y1 on A has NET_ADMIN and builds its own
/// vxlan device with X's VNI, flooding to host B's tunnel address (routed and masqueraded by A, as a Docker host does),
/// to its own host's tunnel address and to its management gateway. With LTB's tunnel filter none of its frames reach
/// x1 or x2 while X's own traffic crosses; with the filter bypassed (an ACCEPT the test inserts above it) the same
/// frames do reach both, which proves the attack is real and the filter is what stops it. Destroying the labs removes
/// the filter.
/// </summary>
public sealed partial class SpanningLabTests
{
    private const string Injector = "02:00:de:ad:be:ef";

    [GeneratedRegex(@"vxlan id (\d+)")]
    private static partial Regex VxlanId();

    [GeneratedRegex(@"default via (\S+)")]
    private static partial Regex DefaultGateway();

    [Fact]
    public async Task A_node_cannot_inject_frames_into_another_labs_tunnel()
    {
        LabCluster.Require();
        Prerequisite.RequireCommand("iptables");
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = await LabCluster.StartAsync(new LabClusterOptions
        {
            Hosts = 2,
            Images = ["ltb/nettools:latest"],
            AgentArgs = h => ["--tunnel-address", h.FabricAddress!.ToString()],
        });
        var (a, b) = (cluster.Hosts[0], cluster.Hosts[1]);
        // Host A routes and masquerades its nodes' traffic like a Docker host (the simulated engines run without iptables):
        // a node's packet to B then arrives from A's own address, which B must trust for X's tunnel.
        (await a.Sim.Inside("sysctl", "-w", "net.ipv4.ip_forward=1")).EnsureSuccess("ip_forward");
        (await a.Sim.Inside("iptables", "-t", "nat", "-A", "POSTROUTING", "-o", "fab0", "-j", "MASQUERADE")).EnsureSuccess("masquerade");

        var folder = Directory.CreateTempSubdirectory("ltb-span-inject-").FullName;
        var x = "spx" + Guid.NewGuid().ToString("N")[..6];
        var y = "spy" + Guid.NewGuid().ToString("N")[..6];
        await File.WriteAllTextAsync(Path.Combine(folder, "x.clab.yml"), $$"""
            name: {{x}}
            topology:
              nodes:
                x1: {kind: linux, image: "ltb/nettools:latest", labels: {ltb.host: "{{a.Name}}"} }
                x2: {kind: linux, image: "ltb/nettools:latest", labels: {ltb.host: "{{b.Name}}"} }
              links:
                - endpoints: ["x1:eth1", "x2:eth1"]
            """, ct);
        await File.WriteAllTextAsync(Path.Combine(folder, "y.clab.yml"), $$"""
            name: {{y}}
            topology:
              nodes:
                y1: {kind: linux, image: "ltb/nettools:latest", cap-add: [NET_ADMIN], labels: {ltb.host: "{{a.Name}}"} }
            """, ct);
        await cluster.LoginCliAsync();
        try
        {
            foreach (var (lab, file) in new[] { (x, "x.clab.yml"), (y, "y.clab.yml") })
            {
                var deploy = await cluster.LtbAsync(null, "lab", "deploy", "-t", Path.Combine(folder, file), "--name", lab);
                Assert.True(deploy.ExitCode == 0, deploy.Stderr + deploy.Stdout + "\nagent A:\n" + a.Agent?.Output + "\nagent B:\n" + b.Agent?.Output);
            }
            var runtime = (await Http.ReadAsync<LabDto>(await cluster.Admin.GetAsync($"/api/v1/labs/{x}", ct), 200)).RuntimeName;
            Assert.Equal(0, (await ExecAsync(cluster, x, "x1", "ip", "addr", "add", "10.77.0.1/29", "dev", "eth1")).ExitCode);
            Assert.Equal(0, (await ExecAsync(cluster, x, "x2", "ip", "addr", "add", "10.77.0.2/29", "dev", "eth1")).ExitCode);
            await AssertCrossesAsync(cluster, x);
            foreach (var host in new[] { a, b })
            {
                var rules = (await host.Sim.Inside("iptables", "-S")).EnsureSuccess("iptables -S").Stdout;
                Assert.Contains("-j LTB-VXLAN", rules);
                Assert.Contains($"ltb/{runtime}/vxlan/", rules);
            }

            // y1 floods X's VNI to host B, to its own host A and to its management gateway (also host A).
            var vni = VxlanId().Match((await HostCommand.RunAsync("ip", "-n", $"ltb-{runtime}-x2", "-d", "link", "show", "eth1")).Stdout).Groups[1].Value;
            Assert.NotEqual("", vni);
            var gateway = DefaultGateway().Match((await ExecAsync(cluster, y, "y1", "ip", "-4", "route", "show", "default")).Stdout).Groups[1].Value;
            Assert.NotEqual("", gateway);
            var build = await ExecAsync(cluster, y, "y1", "sh", "-c",
                $"ip link add vxi address {Injector} type vxlan id {vni} dstport 4789 dev eth0 && " +
                $"bridge fdb append 00:00:00:00:00:00 dev vxi dst {b.FabricAddress} && " +
                $"bridge fdb append 00:00:00:00:00:00 dev vxi dst {a.FabricAddress} && " +
                $"bridge fdb append 00:00:00:00:00:00 dev vxi dst {gateway} && " +
                "ip addr add 10.77.0.3/29 dev vxi && ip link set vxi up");
            Assert.True(build.ExitCode == 0, $"y1 could not build its vxlan device: {build.Stdout}{build.Stderr}");

            var filtered = await InjectAsync(cluster, x, y);
            Assert.True(filtered == (false, false), $"frames from y1 reached lab {x}'s tunnel (x1 on A: {filtered.A}, x2 on B: {filtered.B}) despite the filter");
            await AssertCrossesAsync(cluster, x);

            // The control: the same frames do reach both ends once an ACCEPT sits above LTB's rules.
            string[][] bypass = [["INPUT", "1", "-p", "udp", "--dport", "4789", "-j", "ACCEPT"], ["FORWARD", "1", "-p", "udp", "--dport", "4789", "-j", "ACCEPT"]];
            foreach (var host in new[] { a, b })
            {
                foreach (var rule in bypass)
                {
                    (await host.Sim.Inside(["iptables", "-I", .. rule])).EnsureSuccess("bypass");
                }
            }
            var open = await InjectAsync(cluster, x, y);
            foreach (var host in new[] { a, b })
            {
                foreach (var rule in bypass)
                {
                    (await host.Sim.Inside(["iptables", "-D", rule[0], .. rule[2..]])).EnsureSuccess("bypass removal");
                }
            }
            Assert.True(open == (true, true), $"without the filter y1's frames should reach x1 (A: {open.A}) and x2 (B: {open.B}); the test's attack does not work");
        }
        finally
        {
            foreach (var lab in new[] { y, x })
            {
                var destroy = await cluster.LtbAsync(null, "lab", "destroy", lab);
                Assert.True(destroy.ExitCode == 0, destroy.Stderr + destroy.Stdout);
            }
            Directory.Delete(folder, recursive: true);
        }
        foreach (var host in new[] { a, b })
        {
            var rules = (await host.Sim.Inside("iptables", "-S")).EnsureSuccess("iptables -S").Stdout;
            Assert.DoesNotContain("LTB-VXLAN", rules);
            Assert.DoesNotContain("ltb-vxlan", rules);
        }
    }

    /// <summary>x1 pings x2 across the tunnel (retried while the first ARP exchange settles).</summary>
    private static async Task AssertCrossesAsync(LabCluster cluster, string x)
    {
        var ping = await ExecAsync(cluster, x, "x1", "ping", "-c", "2", "-W", "2", "10.77.0.2");
        for (var attempt = 1; attempt < 5 && ping.ExitCode != 0; attempt++)
        {
            ping = await ExecAsync(cluster, x, "x1", "ping", "-c", "2", "-W", "2", "10.77.0.2");
        }
        Assert.True(ping.ExitCode == 0, $"x1 -> x2 across X's tunnel: {ping.Stdout}{ping.Stderr}");
    }

    /// <summary>
    /// y1 pings over its vxlan device (ARP requests from <see cref="Injector"/>, flooded to every destination) while
    /// tcpdump in x1 and x2 waits for one frame from that MAC: whether each saw one.
    /// </summary>
    private static async Task<(bool A, bool B)> InjectAsync(LabCluster cluster, string x, string y)
    {
        Task<ExecResponse> Capture(string node) =>
            ExecAsync(cluster, x, node, "timeout", "10", "tcpdump", "-n", "-i", "eth1", "-c", "1", "ether", "src", Injector);
        var onA = Capture("x1");
        var onB = Capture("x2");
        await Task.Delay(TimeSpan.FromSeconds(2), TestContext.Current.CancellationToken);
        await ExecAsync(cluster, y, "y1", "ping", "-c", "4", "-i", "0.5", "-W", "1", "-I", "vxi", "10.77.0.2");
        return ((await onA).ExitCode == 0, (await onB).ExitCode == 0);
    }
}
