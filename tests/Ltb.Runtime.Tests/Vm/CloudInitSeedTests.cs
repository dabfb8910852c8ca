using Ltb.Runtime.Labs;
using Ltb.Runtime.Network;
using Ltb.Runtime.Nodes.Vm;
using Ltb.Runtime.Planning;
using Ltb.Testing;
using Ltb.Topology;

namespace Ltb.Runtime.Tests.Vm;

/// <summary>
/// Issue #14, cloud-init: a node of a cloud-init type (generic_vm) plans its startup-config as user-data; its NoCloud
/// seed carries LTB's management address (the card matched by the MAC QEMU gives it), the data addresses of its env
/// and its hostname; written as a real FAT volume labelled CIDATA and read back with mtools, as cloud-init finds it.
/// </summary>
public sealed class CloudInitSeedTests
{
    [Fact]
    public async Task A_cloud_init_node_gets_a_cidata_volume_with_its_management_address_data_addresses_and_user_data()
    {
        Prerequisite.Require(HostCommand.Exists("mkfs.vfat") && HostCommand.Exists("mcopy") && HostCommand.Exists("fatlabel"),
            "dosfstools and mtools (scripts/prepare-host.sh)");
        var folder = Directory.CreateTempSubdirectory("ltb-seed-");
        try
        {
            var userData = "#cloud-config\nusers:\n  - name: student\n    ssh_authorized_keys: [\"ssh-ed25519 AAAAC3Nza student@lab\"]\n";
            await File.WriteAllTextAsync(Path.Combine(folder.FullName, "vm1.yaml"), userData, TestContext.Current.CancellationToken);
            var yaml = """
                name: seed
                topology:
                  nodes:
                    vm1: {kind: generic_vm, image: "debian:12", startup-config: vm1.yaml, env: {IP_eth1: "10.0.0.2/24,2001:db8::2/64"}}
                    vm2: {kind: ltb_tinyvm, startup-config: vm1.yaml}
                """;
            var loaded = TopologyLoader.LoadText(yaml, Path.Combine(folder.FullName, "seed.clab.yml"),
                new LoadOptions { Trusted = true, Environment = new Dictionary<string, string>() });
            var planned = LabPlanner.Plan(loaded.Lab!, new PlanningOptions { LabName = "seedlab" });
            // A VM type that is not configured by cloud-init still refuses a startup-config, naming the node.
            Assert.Contains(planned.Errors, e => e.Contains("vm2", StringComparison.Ordinal) && e.Contains("startup-config", StringComparison.Ordinal));
            var fine = LabPlanner.Plan(TopologyLoader.LoadText(yaml.Replace("\n    vm2: {kind: ltb_tinyvm, startup-config: vm1.yaml}", ""),
                Path.Combine(folder.FullName, "seed.clab.yml"), new LoadOptions { Trusted = true, Environment = new Dictionary<string, string>() }).Lab!,
                new PlanningOptions { LabName = "seedlab" });
            Assert.True(fine.Plan is not null, string.Join("\n", fine.Errors));
            var node = Assert.Single(fine.Plan!.Nodes);
            Assert.True(node.Vm!.CloudInit);
            Assert.Equal(Path.Combine(folder.FullName, "vm1.yaml"), node.StartupConfig!.HostFile);

            var mgmt = new MgmtState("br-x", "172.20.20.0/24", "172.20.20.1", "3fff:172:20:20::/64", "3fff:172:20:20::1", 1500, new Dictionary<string, MgmtAddresses>());
            var files = CloudInitSeed.Compose("seedlab", node, mgmt, new MgmtAddresses("172.20.20.5", "3fff:172:20:20::5"), userData,
                "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleKeyOnlyForTheSeed ltb-exec-seedlab-vm1");
            var image = Path.Combine(folder.FullName, "seed.img");
            await CloudInitSeed.WriteAsync(new HostNetwork(), image, files, TestContext.Current.CancellationToken);

            Assert.Equal("CIDATA", (await HostCommand.RunAsync("fatlabel", image)).EnsureSuccess("fatlabel").Stdout.Trim());
            async Task<string> Read(string name) => (await HostCommand.RunAsync("mcopy", "-i", image, "::" + name, "-")).EnsureSuccess("mcopy " + name).Stdout;
            Assert.Equal(userData, await Read("user-data"));
            var meta = await Read("meta-data");
            Assert.Contains("local-hostname: \"vm1\"", meta);
            Assert.Matches("instance-id: \"ltb-[0-9a-f]{16}\"", meta);
            // LTB's exec key for the guest's default user (and root, where the image allows it).
            Assert.EndsWith("public-keys:\n  - \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleKeyOnlyForTheSeed ltb-exec-seedlab-vm1\"\n", meta);
            var network = await Read("network-config");
            Assert.Contains($"  eth0:\n    match: {{macaddress: \"{QemuCommandLine.Mac("seedlab", "vm1", 0)}\"}}\n    set-name: \"eth0\"\n" +
                "    addresses: [\"172.20.20.5/24\", \"3fff:172:20:20::5/64\"]\n" +
                "    routes: [{to: \"0.0.0.0/0\", via: \"172.20.20.1\"}, {to: \"::/0\", via: \"3fff:172:20:20::1\"}]\n", network);
            Assert.Contains($"  eth1:\n    match: {{macaddress: \"{QemuCommandLine.Mac("seedlab", "vm1", 1)}\"}}\n    set-name: \"eth1\"\n" +
                "    addresses: [\"10.0.0.2/24\", \"2001:db8::2/64\"]\n", network);
            Assert.StartsWith("version: 2\nethernets:\n", network);
            Assert.Empty(Directory.GetFiles(folder.FullName, ".seed-*"));
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }
}
