using Ltb.Runtime.Plan;
using Ltb.Server.Snapshots;

namespace Ltb.Server.Tests.Labs;

/// <summary>
/// The management addresses a restore asks for when VMs resume from their RAM state: the snapshot's subnet and the
/// resumed nodes' addresses from its status, as hints of the plan; nothing for a snapshot without memory, and a status
/// that does not parse is no hint (an imported archive's status is the importer's input).
/// </summary>
public sealed class SnapshotResumeTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("ltb-resume-").FullName;

    private static readonly LabPlan Plan = new()
    {
        LabName = "l",
        Nodes = [new NodePlan { Name = "vm1", Image = "ltb/tinydisk" }, new NodePlan { Name = "pc1", Image = "alpine" }],
    };

    private const string Status = """
        {"labName": "l", "state": "Running", "mgmtIpv4Subnet": "172.20.7.0/24",
         "nodes": [{"name": "vm1", "mgmtIpv4": "172.20.7.3"}, {"name": "pc1", "mgmtIpv4": "172.20.7.2"}], "links": []}
        """;

    private static SnapshotManifest Manifest(bool memory) => new(1, "s", "l", "l.clab.yml", DateTimeOffset.UnixEpoch,
        [new SnapshotNodeManifest("vm1", "ltb_tinyvm", "ltb/tinydisk", true, [], []) { Memory = memory }, new SnapshotNodeManifest("pc1", "linux", "alpine", false, [], [])]);

    [Fact]
    public void A_resumed_vm_asks_for_its_saved_address_and_the_snapshots_subnet()
    {
        File.WriteAllText(Path.Combine(_folder, SnapshotStore.StatusFile), Status);
        var restore = Path.Combine(_folder, "restore");

        SnapshotResume.Write(_folder, Manifest(memory: true), restore);
        var plan = SnapshotResume.Attach(Plan, restore);

        Assert.Equal("172.20.7.0/24", plan.Mgmt.PreferredIpv4Subnet);
        Assert.Equal("172.20.7.3", plan.Nodes.Single(n => n.Name == "vm1").PreferredMgmtIpv4);
        Assert.Null(plan.Nodes.Single(n => n.Name == "pc1").PreferredMgmtIpv4);
    }

    [Fact]
    public void Without_memory_or_with_a_status_that_does_not_parse_nothing_is_asked()
    {
        File.WriteAllText(Path.Combine(_folder, SnapshotStore.StatusFile), Status);
        var restore = Path.Combine(_folder, "restore");
        SnapshotResume.Write(_folder, Manifest(memory: false), restore);
        Assert.False(File.Exists(Path.Combine(restore, SnapshotResume.FileName)));

        File.WriteAllText(Path.Combine(_folder, SnapshotStore.StatusFile), """{"mgmtIpv4Subnet": 7, "nodes": [{"name": "vm1", "mgmtIpv4": ["x"]}]}""");
        SnapshotResume.Write(_folder, Manifest(memory: true), restore);
        Assert.Same(Plan, SnapshotResume.Attach(Plan, restore));

        Directory.CreateDirectory(restore);
        File.WriteAllText(Path.Combine(restore, SnapshotResume.FileName), """{"ipv4Subnet": "not a subnet", "nodes": {"vm1": "; rm -rf /"}}""");
        var plan = SnapshotResume.Attach(Plan, restore);
        Assert.Null(plan.Mgmt.PreferredIpv4Subnet);
        Assert.All(plan.Nodes, n => Assert.Null(n.PreferredMgmtIpv4));
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
