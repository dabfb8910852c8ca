using Ltb.Server.Data;
using Ltb.Server.Labs.Placement;

namespace Ltb.Server.Tests.Labs;

/// <summary>The placement policy on its own: hosts and labs as plain values, no database, no engine.</summary>
public sealed class PlacementPolicyTests
{
    private const long GiB = 1L << 30;

    private static HostOffer Host(string name, double cpus, long memory, double usedCpus = 0, long usedMemory = 0,
        LabHostState state = LabHostState.Ready, bool mayPlace = true, string[]? kinds = null, string[]? images = null) =>
        new(Guid.NewGuid(), name, state, mayPlace, (kinds ?? ["linux", "frr"]).ToHashSet(), (images ?? ["ltb/tiny:latest", "ltb/frr:latest"]).ToHashSet(),
            new CpuMemory(cpus, memory), new CpuMemory(usedCpus, usedMemory));

    private static NodeDemand Node(string name, double cpus = 0.5, long memory = GiB / 2, string kind = "linux", string image = "ltb/tiny",
        string? pin = null) => new(name, kind, image, new CpuMemory(cpus, memory), pin);

    private static LabDemand Lab(params NodeDemand[] nodes) =>
        new(nodes, [.. nodes.Zip(nodes.Skip(1), (a, b) => (a.Name, b.Name))]);

    [Fact]
    public void A_lab_goes_to_the_host_with_the_most_memory_free_after_placement_and_says_so()
    {
        var a = Host("host-a", 8, 16 * GiB, usedMemory: 12 * GiB);
        var b = Host("host-b", 8, 16 * GiB, usedCpus: 3.5, usedMemory: 9 * GiB);
        var decision = PlacementPolicy.Place(Lab(Node("n1"), Node("n2")), [a, b]);
        Assert.Equal("host-b", decision.Host!.Name);
        Assert.Null(decision.NodeHosts);
        Assert.StartsWith("host-b: 3.5 of 8 CPUs and 6 GiB of 16 GiB free after placement", decision.Reason);
    }

    [Fact]
    public void No_capacity_anywhere_refuses_with_what_the_lab_needs_and_what_each_host_has()
    {
        var lab = Lab(Node("big", cpus: 4, memory: 6 * GiB));
        var decision = PlacementPolicy.Place(lab, [Host("host-a", 2, 4 * GiB), Host("host-b", 2, 4 * GiB, state: LabHostState.Unreachable)]);
        Assert.False(decision.Placed);
        Assert.Equal(["host-a", "host-b"], decision.Rejections.Select(r => r.Host));
        Assert.Contains("no capacity: needs 4 CPUs and 6 GiB, has 2 CPUs and 4 GiB free of 2 CPUs and 4 GiB", decision.Rejections[0].Reasons);
        Assert.Contains("not ready (unreachable)", decision.Rejections[1].Reasons);
        Assert.Contains("no host can take the lab (it needs 4 CPUs and 6 GiB", decision.Reason);
    }

    [Fact]
    public void A_reconfigured_lab_may_grow_only_into_what_its_hosts_have_free_and_may_always_shrink()
    {
        // Others' labs use 6 of 8 GiB on host-a: the lab (1 GiB) may grow to 2 GiB, not to 3.
        var a = Host("host-a", 8, 8 * GiB, usedMemory: 6 * GiB);
        var b = Host("host-b", 8, 8 * GiB);
        var before = new Dictionary<Guid, CpuMemory> { [a.Id] = new(1, GiB), [b.Id] = new(1, GiB) };
        Assert.Null(PlacementPolicy.RefuseGrowth("lab1", before, new Dictionary<Guid, CpuMemory> { [a.Id] = new(1, 2 * GiB), [b.Id] = new(1, GiB) }, [a, b]));

        var refusal = PlacementPolicy.RefuseGrowth("lab1", before,
            new Dictionary<Guid, CpuMemory> { [a.Id] = new(1, 3 * GiB), [b.Id] = new(2, 5 * GiB) }, [a, b]);
        Assert.Equal("lab 'lab1' would not fit after the change: on host 'host-a' it would need 1 CPUs and 3 GiB (it has 1 CPUs and 1 GiB), " +
            "and the host has 8 CPUs and 2 GiB free for it of 8 CPUs and 8 GiB. Add fewer nodes or lower their cpu/memory, " +
            "or destroy the lab and deploy it again (placement then chooses among all hosts)", refusal);

        // An admin shrank host-a below what the lab holds: a change that does not grow the lab there still goes through.
        var shrunk = Host("host-a", 1, GiB / 2, usedMemory: 6 * GiB) with { Id = a.Id };
        Assert.Null(PlacementPolicy.RefuseGrowth("lab1", before, new Dictionary<Guid, CpuMemory> { [a.Id] = new(0.5, GiB / 2) }, [shrunk]));
    }

    [Fact]
    public void A_host_that_cannot_run_a_kind_or_that_the_caller_may_not_use_is_passed_over()
    {
        var lab = Lab(Node("r1", kind: "frr"), Node("h1"));
        var big = Host("big", 64, 256 * GiB, kinds: ["linux"]);
        var forbidden = Host("forbidden", 64, 256 * GiB, mayPlace: false);
        var small = Host("small", 2, 4 * GiB);
        var decision = PlacementPolicy.Place(lab, [big, forbidden, small]);
        Assert.Equal("small", decision.Host!.Name);
        Assert.Contains("big: cannot run kind frr", decision.Reason);
        Assert.Contains("forbidden: you may not place labs on it", decision.Reason);

        var nowhere = PlacementPolicy.Place(Lab(Node("x", kind: "ceos")), [big, small]);
        Assert.False(nowhere.Placed);
        Assert.All(nowhere.Rejections, r => Assert.Contains("cannot run kind ceos", r.Reasons));
    }

    [Fact]
    public void A_host_that_holds_every_image_is_preferred_and_a_missing_image_alone_does_not_refuse()
    {
        var lab = Lab(Node("n1", image: "ltb/frr:latest"));
        var roomy = Host("roomy", 16, 64 * GiB, images: ["ltb/tiny:latest"]);
        var holder = Host("holder", 2, 4 * GiB, images: ["ltb/frr:latest"]);
        var decision = PlacementPolicy.Place(lab, [roomy, holder]);
        Assert.Equal("holder", decision.Host!.Name);
        Assert.Contains("roomy lacks image ltb/frr:latest", decision.Reason);

        // No host has it: the roomiest host is chosen and pulls it at deployment.
        var pulled = PlacementPolicy.Place(Lab(Node("n1", image: "example/new:1")), [roomy, holder]);
        Assert.Equal("roomy", pulled.Host!.Name);
        Assert.Contains("roomy pulls image example/new:1", pulled.Reason);
        // "ltb/tiny" is "ltb/tiny:latest" to the engine.
        Assert.True(roomy.HasImage("ltb/tiny"));
    }

    [Fact]
    public void A_pinned_host_is_checked_like_any_other_and_refused_with_its_reason()
    {
        var lab = Lab(Node("n1", cpus: 2, memory: 2 * GiB));
        var a = Host("host-a", 8, 16 * GiB);
        var b = Host("host-b", 2, 4 * GiB, usedCpus: 1);
        Assert.Equal("host-a", PlacementPolicy.Place(lab, [a, b]).Host!.Name);
        var refused = PlacementPolicy.Place(lab, [a, b], pinnedHost: "host-b");
        Assert.False(refused.Placed);
        Assert.Equal("host 'host-b' cannot take the lab (it needs 2 CPUs and 2 GiB): no capacity: needs 2 CPUs and 2 GiB, has 1 CPUs and 4 GiB free of 2 CPUs and 4 GiB",
            refused.Reason);
        Assert.Equal("host-b", Assert.Single(refused.Rejections).Host);
        Assert.Equal("host-b", PlacementPolicy.Place(Lab(Node("n1")), [a, b], pinnedHost: "host-b").Host!.Name);
    }

    [Fact]
    public void A_lab_no_host_holds_alone_spans_hosts_keeping_linked_nodes_together()
    {
        // Two chains of three nodes (1 GiB each): no host holds all six, each holds one chain.
        NodeDemand N(string name) => Node(name, cpus: 0.5, memory: GiB);
        var lab = new LabDemand([N("a1"), N("a2"), N("a3"), N("b1"), N("b2"), N("b3")],
            [("a1", "a2"), ("a2", "a3"), ("b1", "b2"), ("b2", "b3")]);
        var x = Host("host-x", 4, 4 * GiB);
        var y = Host("host-y", 4, 4 * GiB);
        var decision = PlacementPolicy.Place(lab, [x, y]);
        Assert.True(decision.Placed);
        var layout = decision.NodeHosts!;
        Assert.Equal(layout["a1"], layout["a2"]);
        Assert.Equal(layout["a2"], layout["a3"]);
        Assert.Equal(layout["b1"], layout["b3"]);
        Assert.NotEqual(layout["a1"], layout["b1"]);
        Assert.StartsWith("spans host-x (3 nodes), host-y (3 nodes), 0 links between hosts: no single host holds the lab", decision.Reason);

        // One chain of six: split, and each node lands next to a placed neighbour while there is room.
        var chain = Lab(N("c1"), N("c2"), N("c3"), N("c4"), N("c5"), N("c6"));
        var split = PlacementPolicy.Place(chain, [x, y]);
        Assert.Contains("1 link between hosts", split.Reason);

        // Together too small: refused with the hosts' combined free capacity.
        var refused = PlacementPolicy.Place(Lab(N("1"), N("2"), N("3"), N("4"), N("5"), N("6"), N("7"), N("8"), N("9")), [x, y]);
        Assert.False(refused.Placed);
        Assert.Contains("the ready hosts that can span labs together have 8 CPUs and 8 GiB free", refused.Reason);

        // Hosts without a tunnel address (the local host, an agent without one) take no part in spanning.
        var untunnelled = PlacementPolicy.Place(lab, [x with { CanSpan = false }, y]);
        Assert.False(untunnelled.Placed);
        Assert.StartsWith("no host can take the lab (it needs 3 CPUs and 6 GiB): host-x: no capacity", untunnelled.Reason);
    }

    [Fact]
    public void Nodes_pinned_to_hosts_by_label_land_there()
    {
        var lab = Lab(Node("r1", pin: "host-a"), Node("r2", pin: "host-b"), Node("r3"));
        var a = Host("host-a", 8, 16 * GiB);
        var b = Host("host-b", 8, 16 * GiB);
        var decision = PlacementPolicy.Place(lab, [a, b]);
        Assert.Equal((a.Id, b.Id), (decision.NodeHosts!["r1"], decision.NodeHosts["r2"]));
        Assert.Contains("nodes are pinned to hosts (ltb.host)", decision.Reason);
        // All pins on one host: the whole lab runs there, no layout.
        var together = PlacementPolicy.Place(Lab(Node("r1", pin: "host-b"), Node("r2")), [a, b]);
        Assert.Equal(("host-b", null), (together.Host!.Name, together.NodeHosts));
        Assert.False(PlacementPolicy.Place(Lab(Node("r1", pin: "host-z")), [a, b]).Placed);
        var local = PlacementPolicy.Place(lab, [a, b with { CanSpan = false }]);
        Assert.Equal("nodes are pinned (ltb.host) to several hosts, and host 'host-b' takes no part in labs that span hosts " +
            "(no tunnel address: the local host, or an agent without --tunnel-address)", local.Reason);
    }

    [Fact]
    public void Equal_hosts_are_chosen_by_name_whatever_order_they_come_in()
    {
        var lab = Lab(Node("n1"));
        var hosts = new[] { Host("host-c", 4, 8 * GiB), Host("host-a", 4, 8 * GiB), Host("host-b", 4, 8 * GiB) };
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal("host-a", PlacementPolicy.Place(lab, [.. hosts.OrderBy(_ => Random.Shared.Next())]).Host!.Name);
        }
        // Then more CPUs free breaks a memory tie.
        Assert.Equal("host-c", PlacementPolicy.Place(lab, [Host("host-a", 4, 8 * GiB), Host("host-c", 6, 8 * GiB)]).Host!.Name);
    }

    [Fact]
    public void The_demand_of_a_plan_comes_from_node_limits_else_the_policy_defaults_and_pins_from_the_ltb_host_label()
    {
        var plan = new Ltb.Runtime.Plan.LabPlan
        {
            LabName = "p",
            Nodes =
            [
                new() { Name = "r1", Image = "ltb/frr", Cpu = 1, Memory = 512L << 20 },
                new() { Name = "h1", Image = "ltb/tiny", Labels = new Dictionary<string, string> { ["ltb.host"] = "host-b" } },
            ],
            Links = [new() { A = new("r1", "eth1"), B = new("h1", "eth1") }],
        };
        var demand = LabDemand.Of(plan, new Dictionary<string, string> { ["r1"] = "frr", ["h1"] = "linux" });
        // h1 has no limits in this hand-made plan (the planner always sets them): it counts the policy's node defaults.
        Assert.Equal(new CpuMemory(2, 768L << 20), demand.Total);
        Assert.Equal("host-b", demand.Nodes[1].PinnedHost);
        Assert.Equal(("r1", "h1"), Assert.Single(demand.Links));
    }
}
