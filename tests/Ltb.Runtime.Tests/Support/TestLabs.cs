using Docker.DotNet.Models;
using Ltb.Runtime.Docker;
using Ltb.Runtime.Labs;
using Ltb.Runtime.Network;
using Ltb.Runtime.Plan;
using Ltb.Runtime.Planning;
using Ltb.Testing;
using Ltb.Topology;


namespace Ltb.Runtime.Tests.Support;

/// <summary>Plans and runtime instances for the tests: unique lab names, a private state folder, prerequisites.</summary>
public static class TestLabs
{
    public const string FrrImage = "quay.io/frrouting/frr:10.5.1";
    public const string HostImage = "wbitt/network-multitool:3.22.2";
    public const string TinyImage = "ltb/tiny:latest";

    public static string StateDirectory { get; } = Path.Combine(Path.GetTempPath(), "ltb-runtime-tests", "state");

    public static string UniqueName(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 7)];

    public static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static (DockerEngine Engine, LabRuntime Runtime, HostNetwork Net) Create()
    {
        var engine = DockerEngine.Connect();
        var net = new HostNetwork();
        return (engine, new LabRuntime(engine, net, new RuntimeOptions { StateDirectory = StateDirectory }), net);
    }

    /// <summary>What is missing for a runtime test (Docker, root, the images and, for OVS, Open vSwitch), or null.</summary>
    public static async Task<string?> MissingAsync(LinkBackend backend, params string[] images)
    {
        if (Environment.UserName != "root")
        {
            return "root (network namespaces and veth pairs need it)";
        }
        using var engine = DockerEngine.Connect();
        try
        {
            await engine.DescribeAsync(CancellationToken.None);
        }
        catch (DockerUnavailableException e)
        {
            return $"a running Docker engine ({e.Message})";
        }
        foreach (var image in images)
        {
            var found = await engine.Client.Images.ListImagesAsync(new ImagesListParameters
            {
                Filters = new Dictionary<string, IDictionary<string, bool>> { ["reference"] = new Dictionary<string, bool> { [image] = true } },
            });
            if (found.Count == 0)
            {
                return $"the local image {image} (scripts/build-images.sh builds it)";
            }
        }
        if (backend == LinkBackend.Ovs && !await new HostNetwork().OvsAvailableAsync(CancellationToken.None))
        {
            return "Open vSwitch running (scripts/prepare-host.sh starts it)";
        }
        return null;
    }

    /// <summary>
    /// The corpus's frr01 lab exactly as containerlab users have it: the file is loaded by the topology loader and
    /// planned by the planner, the same path the server takes.
    /// </summary>
    public static LabPlan Frr01(string labName, LinkBackend backend)
    {
        var file = Path.Combine(Repo.ContainerlabCorpus, "frr01", "frr01.clab.yml");
        // As an administrator loads it: the corpus file uses the frr kind's capabilities and publishes a port.
        var loaded = TopologyLoader.LoadFile(file, new LoadOptions { Trusted = true });
        var lab = loaded.ValidLab ?? throw new InvalidOperationException(string.Join('\n', loaded.Diagnostics));
        var planned = LabPlanner.Plan(lab, new PlanningOptions { LabName = labName, LinkBackend = backend });
        return planned.Plan ?? throw new InvalidOperationException(string.Join('\n', planned.Errors));
    }

    /// <summary>Two tiny nodes joined by one link n1:eth1 -- n2:eth1.</summary>
    public static LabPlan Pair(string labName, LinkBackend backend) => new()
    {
        LabName = labName,
        LinkBackend = backend,
        Nodes = [Tiny("n1"), Tiny("n2")],
        Links = [new LinkPlan { A = new LinkEndpoint("n1", "eth1", "02:00:00:00:01:01"), B = new LinkEndpoint("n2", "eth1", "02:00:00:00:01:02") }],
    };

    public static NodePlan Tiny(string name) => new() { Name = name, Image = TinyImage, CapAdd = ["NET_ADMIN", "NET_RAW"] };

    public static async Task<T> EventuallyAsync<T>(Func<Task<T>> probe, Func<T, bool> done, TimeSpan timeout, TimeSpan? every = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var value = await probe();
            if (done(value) || DateTime.UtcNow > deadline)
            {
                return value;
            }
            await Task.Delay(every ?? TimeSpan.FromSeconds(1), Ct);
        }
    }
}
