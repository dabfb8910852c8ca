using System.Text.Json;
using Ltb.Server.Tests.Labs;
using Ltb.Testing;

namespace Ltb.Server.Tests.Cli;

/// <summary>
/// `ltb lab access LAB` against `./ltb serve`: the inventory of `--ansible` is read by Debian's `ansible-inventory`, with
/// the hosts, their ansible_host and network OS and the groups of the topology and the kinds; `--ssh-config` and the
/// table name the same nodes.
/// </summary>
public sealed class LabAccessCliTests(ServeProcess server) : IClassFixture<ServeProcess>
{
    private Task<HostCommand.Result> Ltb(string? stdin, params string[] args)
    {
        var env = ServeProcess.HomeEnvironment(server.Home);
        env["LTB_SERVER"] = "";
        env["LTB_TOKEN"] = "";
        return HostCommand.RunAsync(Path.Combine(Repo.Root, "ltb"), args, TimeSpan.FromMinutes(6), env, stdin: stdin);
    }

    [Fact]
    public async Task Ansible_inventory_is_read_by_ansible_inventory_with_hosts_and_groups()
    {
        LabTestSupport.RequireDocker();
        Prerequisite.Require(HostCommand.Exists("ansible-inventory"), "Debian's ansible (ansible-inventory; scripts/prepare-host.sh test)");
        var login = await Ltb(ServeProcess.Password + "\n", "login", "--server", server.Url, "--user", "admin", "--password-stdin");
        Assert.True(login.ExitCode == 0, login.Stderr);
        var lab = "acc" + Guid.NewGuid().ToString("N")[..6];
        var folder = Directory.CreateTempSubdirectory("ltb-access-").FullName;
        try
        {
            var topology = Path.Combine(folder, "lab.clab.yml");
            await File.WriteAllTextAsync(topology, $$"""
                name: {{lab}}
                topology:
                  groups:
                    routers: { kind: frr, image: "ltb/frr:latest" }
                    pcs: { kind: linux, image: "ltb/tiny:latest" }
                  nodes:
                    r1: { group: routers }
                    r2: { group: routers }
                    pc1: { group: pcs }
                  links:
                    - endpoints: ["r1:eth1", "r2:eth1"]
                    - endpoints: ["r1:eth2", "pc1:eth1"]
                """);
            var deploy = await Ltb(null, "lab", "deploy", "-t", topology);
            Assert.True(deploy.ExitCode == 0, deploy.Stderr + deploy.Stdout);

            var ansible = await Ltb(null, "lab", "access", lab, "--ansible");
            Assert.True(ansible.ExitCode == 0, ansible.Stderr);
            var inventory = Path.Combine(folder, "inventory.yml");
            await File.WriteAllTextAsync(inventory, ansible.Stdout);
            var list = await HostCommand.RunAsync("ansible-inventory", ["-i", inventory, "--list"], TimeSpan.FromMinutes(2),
                new Dictionary<string, string> { ["ANSIBLE_INVENTORY_UNPARSED_FAILED"] = "true", ["HOME"] = folder },
                stdin: ""); // a pipe of its own: Ansible refuses a non-blocking stdin, as the test process's can be
            Assert.True(list.ExitCode == 0, list.Stderr + "\n" + ansible.Stdout);
            Assert.DoesNotContain("WARNING", list.Stderr);
            using var parsed = JsonDocument.Parse(list.Stdout);
            var root = parsed.RootElement;
            var access = JsonDocument.Parse((await Ltb(null, "lab", "access", lab, "-o", "json")).Stdout).RootElement;
            var addresses = access.GetProperty("nodes").EnumerateArray()
                .ToDictionary(n => n.GetProperty("name").GetString()!, n => n.GetProperty("mgmtIpv4").GetString());
            Assert.Equal(["pc1", "r1", "r2"], addresses.Keys.Order());
            var hostvars = root.GetProperty("_meta").GetProperty("hostvars");
            foreach (var (node, address) in addresses)
            {
                Assert.Equal(address, hostvars.GetProperty(node).GetProperty("ansible_host").GetString());
            }
            Assert.Equal("frr.frr.frr", hostvars.GetProperty("r1").GetProperty("ansible_network_os").GetString());
            // This `ltb serve` runs the SSH gateway: Ansible reaches the management addresses through it.
            Assert.Matches("^-o ProxyCommand=\"ssh -W %h:%p -p [0-9]+ ltb@127\\.0\\.0\\.1\"$",
                hostvars.GetProperty("r1").GetProperty("ansible_ssh_common_args").GetString());
            Assert.False(hostvars.GetProperty("pc1").TryGetProperty("ansible_network_os", out _));
            // The connection plugin from the platform: a network OS's CLI for FRR, plain ssh for a Linux host.
            Assert.Equal("ansible.netcommon.network_cli", hostvars.GetProperty("r1").GetProperty("ansible_connection").GetString());
            Assert.Equal("ssh", hostvars.GetProperty("pc1").GetProperty("ansible_connection").GetString());
            string[] Hosts(string group) => [.. root.GetProperty(group).GetProperty("hosts").EnumerateArray().Select(h => h.GetString()!).Order()];
            Assert.Equal(["r1", "r2"], Hosts("routers"));
            Assert.Equal(["pc1"], Hosts("pcs"));
            Assert.Equal(["r1", "r2"], Hosts("frr"));
            Assert.Equal(["pc1"], Hosts("linux"));

            var ssh = await Ltb(null, "lab", "access", lab, "--ssh-config");
            Assert.True(ssh.ExitCode == 0, ssh.Stderr);
            // `ltb serve` here runs the SSH gateway: a shell through it, and the node's own sshd with it as the jump host.
            Assert.Contains($"Host {lab}-r1\n  HostName 127.0.0.1\n", ssh.Stdout);
            Assert.Contains($"  SetEnv LTB_TARGET={lab}/r1\n", ssh.Stdout);
            Assert.Contains($"Host {lab}-r1-sshd\n  HostName {addresses["r1"]}\n", ssh.Stdout);
            var table = await Ltb(null, "lab", "access", lab);
            Assert.True(table.ExitCode == 0, table.Stderr);
            Assert.Contains("routers", table.Stdout);
            Assert.Contains(addresses["pc1"]!, table.Stdout);
        }
        finally
        {
            var destroy = await Ltb(null, "lab", "destroy", lab);
            TestContext.Current.TestOutputHelper?.WriteLine(destroy.Stdout + destroy.Stderr);
            Directory.Delete(folder, recursive: true);
        }
    }
}
