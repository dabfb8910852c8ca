using System.Text.Json;
using Ltb.Runtime.Docker;
using Ltb.Runtime.Labs;
using Ltb.Runtime.Network;
using Ltb.Runtime.Nodes;
using Ltb.Runtime.Plan;
using Ltb.Runtime.Status;
using Ltb.Runtime.Tests.Support;
using Ltb.Testing;

namespace Ltb.Runtime.Tests.Labs;

/// <summary>One frr01 lab deployed for all tests of a class (per backend); the last test destroys it.</summary>
public abstract class Frr01Fixture(LinkBackend backend) : IAsyncLifetime
{
    public LinkBackend Backend { get; } = backend;
    public string? Missing { get; private set; }
    public LabUnderTest Lab { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Missing = await TestLabs.MissingAsync(Backend, TestLabs.FrrImage, TestLabs.HostImage);
        if (Missing is not null)
        {
            return;
        }
        Lab = await LabUnderTest.CreateAsync(TestLabs.Frr01(TestLabs.UniqueName($"frr01-{Backend.ToString().ToLowerInvariant()}"), Backend));
        await Lab.TryDeployAsync(new DeployOptions { OnFailure = FailurePolicy.KeepFailed });
    }

    public void RequireDeployed()
    {
        Prerequisite.Require(Missing is null, Missing ?? "");
        if (Lab.DeployError is not null)
        {
            Assert.Fail($"frr01 did not deploy with the {Backend} backend: {Lab.DeployError}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Lab is not null)
        {
            await Lab.DisposeAsync();
        }
        GC.SuppressFinalize(this);
    }
}

public sealed class Frr01VethFixture() : Frr01Fixture(LinkBackend.Veth);
public sealed class Frr01LinuxBridgeFixture() : Frr01Fixture(LinkBackend.LinuxBridge);
public sealed class Frr01OvsFixture() : Frr01Fixture(LinkBackend.Ovs);

/// <summary>
/// The issue's acceptance test: ../shared/corpus/containerlab/frr01 deploys unchanged, OSPF converges, the PCs reach
/// each other, router2 restarts keeping its links and OSPF re-converges, destroy leaves nothing behind.
/// </summary>
public abstract class Frr01Tests(Frr01Fixture fx)
{
    private static readonly TimeSpan Convergence = TimeSpan.FromSeconds(240);

    public static readonly Dictionary<string, string[]> ExpectedOspf = new()
    {
        ["router1"] = ["192.168.3.0/24", "192.168.12.0/24", "192.168.13.0/24"],
        ["router2"] = ["192.168.2.0/24", "192.168.11.0/24", "192.168.13.0/24"],
        ["router3"] = ["192.168.1.0/24", "192.168.11.0/24", "192.168.12.0/24"],
    };

    [Fact, Order(1)]
    public async Task Deploys_with_every_node_running_and_every_link_up()
    {
        fx.RequireDeployed();
        var status = await fx.Lab.Runtime.InspectAsync(fx.Lab.Plan.LabName, TestLabs.Ct);
        Assert.Equal(LabState.Running, status.State);
        Assert.Equal(6, status.Nodes.Count);
        Assert.All(status.Nodes, n => Assert.Equal(NodeState.Running, n.State));
        Assert.All(status.Nodes, n => Assert.NotNull(n.MgmtIpv4));
        Assert.All(status.Links, l => Assert.True(l.Up, $"link {l.Key} is not up"));
        var r1 = status.Node("router1");
        Assert.Equal(["eth0", "eth1", "eth2", "eth3"], r1.Interfaces.Select(i => i.Name));
        Assert.Equal("router2:eth1", r1.Interfaces.Single(i => i.Name == "eth1").Peer);
        Assert.Equal(LinkPlan.DefaultMtu, r1.Interfaces.Single(i => i.Name == "eth1").Mtu);
        Assert.Equal($"ltb-{fx.Lab.Plan.LabName}-router1", r1.ContainerName);
        Assert.Contains(fx.Lab.Plan.LabName, await fx.Lab.Runtime.ListLabsAsync(TestLabs.Ct));
    }

    [Fact, Order(2)]
    public async Task Ospf_converges_on_every_router()
    {
        fx.RequireDeployed();
        foreach (var (router, prefixes) in ExpectedOspf)
        {
            var routes = await TestLabs.EventuallyAsync(() => OspfRoutesAsync(router), r => prefixes.All(r.Contains), Convergence, TimeSpan.FromSeconds(2));
            if (!prefixes.All(routes.Contains))
            {
                Assert.Fail($"{router} has OSPF routes [{string.Join(", ", routes)}], expected [{string.Join(", ", prefixes)}]\n{await NeighboursAsync()}{await DescribeAsync(router)}");
            }
            // The image puts frr.conf's addresses in place before FRR starts, so the router ID is the loopback's on
            // every start (a restart under another ID left stale network-LSAs that hid every route).
            Assert.Equal($"10.10.10.{router[^1]}", await RouterIdAsync(router));
        }
    }

    [Fact, Order(3)]
    public async Task PCs_reach_each_other_across_the_routers()
    {
        fx.RequireDeployed();
        await Ospf_converges_on_every_router();
        foreach (var target in new[] { "192.168.12.2", "192.168.13.2" })
        {
            var ok = await TestLabs.EventuallyAsync(() => PingAsync("PC1", target), r => r, TimeSpan.FromSeconds(30));
            Assert.True(ok, $"PC1 does not reach {target}");
        }
    }

    [Fact, Order(4)]
    public async Task Restarting_router2_keeps_its_links_and_ospf_reconverges()
    {
        fx.RequireDeployed();
        var before = (await fx.Lab.Runtime.InspectAsync(fx.Lab.Plan.LabName, TestLabs.Ct)).Node("router2");
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var restarted = await fx.Lab.Runtime.RestartNodeAsync(fx.Lab.Plan.LabName, "router2", TestLabs.Ct);
        TestContext.Current.TestOutputHelper?.WriteLine($"{fx.Backend}: deploy took {fx.Lab.DeployTime.TotalSeconds:0.0} s, restarting router2 {sw.Elapsed.TotalSeconds:0.0} s");
        Assert.Equal(NodeState.Running, restarted.State);
        Assert.NotEqual(before.Pid, restarted.Pid);
        foreach (var iface in new[] { "eth1", "eth2", "eth3" })
        {
            var b = before.Interfaces.Single(i => i.Name == iface);
            var a = restarted.Interfaces.SingleOrDefault(i => i.Name == iface);
            Assert.True(a is not null, $"router2 lost {iface} in the restart");
            Assert.Equal(b.Mac, a.Mac);
            Assert.Equal(b.Peer, a.Peer);
            Assert.True(a.AdminUp);
        }
        var status = await TestLabs.EventuallyAsync(() => fx.Lab.Runtime.InspectAsync(fx.Lab.Plan.LabName, TestLabs.Ct), s => s.Links.All(l => l.Up == true), TimeSpan.FromSeconds(10));
        Assert.All(status.Links, l => Assert.True(l.Up, $"link {l.Key} is not up after the restart"));
        await Ospf_converges_on_every_router();
        TestContext.Current.TestOutputHelper?.WriteLine($"{fx.Backend}: OSPF re-converged {sw.Elapsed.TotalSeconds:0.0} s after the restart began");
        var ok = await TestLabs.EventuallyAsync(() => PingAsync("PC2", "192.168.11.2"), r => r, TimeSpan.FromSeconds(60));
        Assert.True(ok, "PC2 does not reach PC1 after router2 restarted");
    }

    [Fact, Order(5)]
    public async Task Destroy_leaves_nothing_behind()
    {
        fx.RequireDeployed();
        var during = await fx.Lab.LeftoversAsync();
        Assert.False(during.IsEmpty);
        await fx.Lab.DestroyAsync();
        await fx.Lab.AssertNoLeftoversAsync();
        Assert.Equal(LabState.Absent, (await fx.Lab.Runtime.InspectAsync(fx.Lab.Plan.LabName, TestLabs.Ct)).State);
    }

    private async Task<HashSet<string>> OspfRoutesAsync(string router)
    {
        var set = new HashSet<string>(StringComparer.Ordinal);
        Docker.ExecResult r;
        try
        {
            r = await fx.Lab.Engine.ExecAsync(Names.Container(fx.Lab.Plan.LabName, router), ["vtysh", "-c", "show ip route ospf json"], TimeSpan.FromSeconds(30), TestLabs.Ct);
        }
        catch (OperationCanceledException) when (!TestLabs.Ct.IsCancellationRequested)
        {
            return set; // a busy host: vtysh did not answer in time; poll again
        }
        // While the daemons start, vtysh may answer a warning instead of JSON (and still exit 0): poll again.
        if (!r.Succeeded || !r.Stdout.TrimStart().StartsWith('{'))
        {
            return set;
        }
        using var doc = JsonDocument.Parse(r.Stdout);
        foreach (var p in doc.RootElement.EnumerateObject())
        {
            if (p.Value.EnumerateArray().Any(e => e.TryGetProperty("selected", out var s) && s.ValueKind == JsonValueKind.True))
            {
                set.Add(p.Name);
            }
        }
        return set;
    }

    private async Task<string?> RouterIdAsync(string router)
    {
        var r = await fx.Lab.Engine.ExecAsync(Names.Container(fx.Lab.Plan.LabName, router), ["vtysh", "-c", "show ip ospf json"], TimeSpan.FromSeconds(30), TestLabs.Ct);
        using var doc = JsonDocument.Parse(r.Stdout);
        return doc.RootElement.TryGetProperty("routerId", out var id) ? id.GetString() : null;
    }

    /// <summary>One line per router: its OSPF neighbours and their states (first, where a truncated CI log still shows it).</summary>
    private async Task<string> NeighboursAsync()
    {
        var text = new System.Text.StringBuilder();
        foreach (var router in ExpectedOspf.Keys)
        {
            string shown;
            try
            {
                var r = await fx.Lab.Engine.ExecAsync(Names.Container(fx.Lab.Plan.LabName, router), ["vtysh", "-c", "show ip ospf neighbor"], TimeSpan.FromSeconds(20), TestLabs.Ct);
                var rows = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                    .Where(l => !l.StartsWith("Neighbor ID", StringComparison.Ordinal))
                    .Select(l => string.Join(' ', l.Split(' ', StringSplitOptions.RemoveEmptyEntries)));
                shown = $"[{string.Join("; ", rows)}] {r.Stderr.Trim()}";
            }
            catch (OperationCanceledException) when (!TestLabs.Ct.IsCancellationRequested)
            {
                shown = "no answer within 20 s";
            }
            text.AppendLine($"{router} OSPF neighbours: {shown}");
        }
        return text.ToString();
    }

    /// <summary>What a router shows when OSPF did not converge: its daemons, addresses, OSPF neighbours and output.</summary>
    private async Task<string> DescribeAsync(string router)
    {
        var container = Names.Container(fx.Lab.Plan.LabName, router);
        var text = new System.Text.StringBuilder();
        foreach (var command in new[] { new[] { "ps", "-ef" }, ["ip", "-br", "addr"], ["vtysh", "-c", "show ip ospf neighbor"], ["vtysh", "-c", "show ip ospf interface brief"], ["vtysh", "-c", "show ip route"] })
        {
            try
            {
                var r = await fx.Lab.Engine.ExecAsync(container, command, TimeSpan.FromSeconds(20), TestLabs.Ct);
                text.AppendLine($"$ {string.Join(' ', command)} (exit {r.ExitCode})").AppendLine(r.Stdout.Trim()).AppendLine(r.Stderr.Trim());
            }
            catch (OperationCanceledException) when (!TestLabs.Ct.IsCancellationRequested)
            {
                text.AppendLine($"$ {string.Join(' ', command)}: no answer within 20 s");
            }
        }
        var logs = new System.Text.StringBuilder();
        await fx.Lab.Runtime.StreamNodeLogsAsync(fx.Lab.Plan.LabName, router, 30, false, null, (chunk, _) =>
        {
            logs.Append(chunk);
            return ValueTask.CompletedTask;
        }, TestLabs.Ct);
        return text.AppendLine("$ (its output, last 30 lines)").Append(logs).ToString();
    }

    private async Task<bool> PingAsync(string node, string target)
    {
        try
        {
            var r = await fx.Lab.Engine.ExecAsync(Names.Container(fx.Lab.Plan.LabName, node), ["ping", "-c", "2", "-W", "2", target], TimeSpan.FromSeconds(30), TestLabs.Ct);
            return r.Succeeded;
        }
        catch (OperationCanceledException) when (!TestLabs.Ct.IsCancellationRequested)
        {
            return false;
        }
    }
}

[TestMethodOrderer(typeof(ByOrder))]
public sealed class Frr01VethTests(Frr01VethFixture fx) : Frr01Tests(fx), IClassFixture<Frr01VethFixture>;

[TestMethodOrderer(typeof(ByOrder))]
public sealed class Frr01LinuxBridgeTests(Frr01LinuxBridgeFixture fx) : Frr01Tests(fx), IClassFixture<Frr01LinuxBridgeFixture>;

[TestMethodOrderer(typeof(ByOrder))]
public sealed class Frr01OvsTests(Frr01OvsFixture fx) : Frr01Tests(fx), IClassFixture<Frr01OvsFixture>;
