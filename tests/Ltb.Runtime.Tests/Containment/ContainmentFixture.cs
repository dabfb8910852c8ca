using System.Formats.Tar;
using Docker.DotNet.Models;
using Ltb.Runtime.Docker;
using Ltb.Runtime.Labs;
using Ltb.Runtime.Nodes;
using Ltb.Runtime.Plan;
using Ltb.Runtime.Planning;
using Ltb.Runtime.Status;
using Ltb.Runtime.Tests.Support;
using Ltb.Testing;
using Ltb.Topology;

namespace Ltb.Runtime.Tests.Containment;

/// <summary>
/// A student's lab as the server plans it (loaded and planned untrusted, default policy): a node of every built-in
/// container kind the tests deploy (linux on ltb/tiny and ltb/nettools, frr on ltb/frr), a node sharing the network of
/// another (network-mode container:NODE), and a neighbouring lab of two linked nodes. The escape probe
/// (escape-probe.c, built static here with gcc) is copied into the student's nodes.
/// </summary>
public sealed class ContainmentFixture : IAsyncLifetime
{
    public const string NettoolsImage = "ltb/nettools:latest";
    public const string FrrImage = "ltb/frr:latest";

    private LabUnderTest? _student;
    private LabUnderTest? _neighbour;

    public string? Missing { get; private set; }
    public Exception? DeployError { get; private set; }
    public LabPlan Student => _student!.Plan;
    public LabPlan Neighbour => _neighbour!.Plan;
    public DockerEngine Engine => _student!.Engine;
    /// <summary>The student lab's deployment events.</summary>
    public List<RuntimeEvent> Events => _student!.Events;
    public string Probe { get; private set; } = "";

    public async ValueTask InitializeAsync()
    {
        Missing = await TestLabs.MissingAsync(LinkBackend.Veth, TestLabs.TinyImage, NettoolsImage, FrrImage)
            ?? (HostCommand.Exists("gcc") ? null : "gcc and libc6-dev (scripts/prepare-host.sh test installs them)");
        if (Missing is not null)
        {
            return;
        }
        var ct = TestContext.Current.CancellationToken;
        Probe = await BuildProbeAsync();
        _student = await LabUnderTest.CreateAsync(Plan(TestLabs.UniqueName("ctn"), StudentTopology));
        _neighbour = await LabUnderTest.CreateAsync(Plan(TestLabs.UniqueName("ctnb"), NeighbourTopology));
        try
        {
            var options = new DeployOptions { OnFailure = FailurePolicy.KeepFailed };
            await _student.DeployAsync(options);
            await _neighbour.DeployAsync(options);
            foreach (var node in new[] { "tiny", "net", "frr" })
            {
                await CopyProbeAsync(Names.Container(Student.LabName, node), ct);
            }
        }
        catch (Exception e)
        {
            DeployError = e;
        }
    }

    public void RequireDeployed()
    {
        Prerequisite.Require(Missing is null, Missing ?? "");
        if (DeployError is not null)
        {
            Assert.Fail($"the containment labs did not deploy: {DeployError}");
        }
    }

    public string Container(string node) => Names.Container(Student.LabName, node);

    public Task<ExecResult> ExecAsync(string container, params string[] argv) =>
        Engine.ExecAsync(container, argv, TimeSpan.FromSeconds(120), TestContext.Current.CancellationToken);

    public Task<ContainerInspectResponse> InspectAsync(string container) =>
        Engine.Client.Containers.InspectContainerAsync(container, TestContext.Current.CancellationToken);

    private const string StudentTopology = """
        name: containment
        topology:
          nodes:
            tiny: { kind: linux, image: ltb/tiny:latest }
            net: { kind: linux, image: ltb/nettools:latest }
            frr: { kind: frr, image: ltb/frr:latest }
            beside: { kind: linux, image: ltb/tiny:latest, network-mode: "container:tiny" }
            # Its main process grows a string without end, a while after the node started: the node is OOM-killed.
            hog: { kind: linux, image: ltb/tiny:latest, memory: 64MiB, cmd: "sh -c 'sleep 12; x=0123456789; while :; do x=$x$x; done'" }
        """;

    private const string NeighbourTopology = """
        name: neighbour
        topology:
          nodes:
            n1: { kind: linux, image: ltb/tiny:latest, exec: ["ip addr add 10.77.0.1/24 dev eth1"] }
            n2: { kind: linux, image: ltb/tiny:latest, exec: ["ip addr add 10.77.0.2/24 dev eth1"] }
          links:
            - endpoints: ["n1:eth1", "n2:eth1"]
        """;

    /// <summary>
    /// Loads and plans a topology as the server does for a student: untrusted, with the default policy and the images
    /// the lab host has (the server lists the host's engine's images).
    /// </summary>
    private static LabPlan Plan(string labName, string yaml)
    {
        var hostImages = new HashSet<string>(["ltb/tiny:latest", "ltb/nettools:latest", "ltb/frr:latest"], StringComparer.Ordinal);
        var loaded = TopologyLoader.LoadText(yaml, $"/tmp/{labName}.clab.yml", new LoadOptions { Trusted = false, LocalImages = hostImages });
        var lab = loaded.ValidLab ?? throw new InvalidOperationException(string.Join('\n', loaded.Diagnostics));
        var planned = LabPlanner.Plan(lab, new PlanningOptions { LabName = labName, Trusted = false });
        return planned.Plan ?? throw new InvalidOperationException(string.Join('\n', planned.Errors));
    }

    /// <summary>The probe, static (the images have no C library in common), built once into the test's temp folder.</summary>
    private static async Task<string> BuildProbeAsync()
    {
        var source = Path.Combine(Repo.Root, "tests", "Ltb.Runtime.Tests", "Containment", "escape-probe.c");
        var output = Path.Combine(Path.GetTempPath(), "ltb-runtime-tests", "escape-probe");
        Directory.CreateDirectory(Path.GetDirectoryName(output)!);
        (await HostCommand.RunAsync("gcc", ["-static", "-O2", "-Wall", "-Werror", "-o", output, source], TimeSpan.FromMinutes(2)))
            .EnsureSuccess("building the escape probe");
        return output;
    }

    /// <summary>Puts the probe at /escape-probe in the container (the engine's archive upload: no bind, no shell).</summary>
    private async Task CopyProbeAsync(string container, CancellationToken ct)
    {
        using var tar = new MemoryStream();
        await using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
        {
            var entry = new PaxTarEntry(TarEntryType.RegularFile, "escape-probe")
            {
                Mode = UnixFileMode.UserRead | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute,
                DataStream = File.OpenRead(Probe),
            };
            await writer.WriteEntryAsync(entry, ct);
            await entry.DataStream.DisposeAsync();
        }
        tar.Position = 0;
        await Engine.Client.Containers.ExtractArchiveToContainerAsync(container, new CopyToContainerParameters { Path = "/" }, tar, ct);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var lab in new[] { _student, _neighbour })
        {
            if (lab is not null)
            {
                await lab.DisposeAsync();
            }
        }
    }
}
