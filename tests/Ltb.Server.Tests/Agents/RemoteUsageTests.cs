using System.Text.Json;
using Ltb.Server.Tests.Infrastructure;
using Ltb.Testing;

namespace Ltb.Server.Tests.Agents;

/// <summary>
/// Issue #16 on a remote (simulated) host: device information and live usage of a lab whose nodes run behind an agent
/// reached over gRPC: the interface addresses, peers and counters, and the node's figures under the host's name.
/// </summary>
public sealed class RemoteUsageTests(RemoteHostFixture remote) : IClassFixture<RemoteHostFixture>
{
    [Fact]
    public async Task Node_info_and_lab_usage_of_a_lab_on_a_remote_host_come_from_its_agent()
    {
        RemoteHostFixture.Require();
        var r = remote;
        var login = await r.LtbAsync(RemoteHostFixture.Password + "\n", "login", "--server", r.Url, "--user", "admin", "--password-stdin");
        Assert.True(login.ExitCode == 0, login.Stderr);
        var folder = Directory.CreateTempSubdirectory("ltb-remote-usage-").FullName;
        var name = "ru" + Guid.NewGuid().ToString("N")[..6];
        try
        {
            var topology = Path.Combine(folder, "usage.clab.yml");
            await File.WriteAllTextAsync(topology, $"""
                name: {name}
                topology:
                  nodes:
                    a:
                      kind: linux
                      image: ltb/tiny:latest
                      exec: ["ip addr add 10.0.0.1/24 dev eth1"]
                    b:
                      kind: linux
                      image: ltb/tiny:latest
                      exec: ["ip addr add 10.0.0.2/24 dev eth1"]
                  links:
                    - endpoints: ["a:eth1", "b:eth1"]
                """);
            var deploy = await r.LtbAsync(null, "lab", "deploy", "-t", topology, "--host", r.HostName);
            Assert.True(deploy.ExitCode == 0, deploy.Stderr + deploy.Stdout + "\nagent:\n" + r.AgentOutput);
            var ping = await r.LtbAsync(null, "lab", "exec", name, "a", "--", "ping", "-c", "3", "-W", "2", "10.0.0.2");
            Assert.True(ping.ExitCode == 0, ping.Stdout + ping.Stderr);

            var info = await r.LtbAsync(null, "lab", "node", "info", name, "a", "-o", "json");
            Assert.True(info.ExitCode == 0, info.Stderr);
            using var doc = JsonDocument.Parse(info.Stdout);
            Assert.Equal(r.HostName, doc.RootElement.GetProperty("host").GetString());
            var eth1 = doc.RootElement.GetProperty("interfaces").EnumerateArray().Single(i => i.GetProperty("name").GetString() == "eth1");
            Assert.Equal("b:eth1", eth1.GetProperty("peer").GetString());
            Assert.Contains("10.0.0.1/24", eth1.GetProperty("addresses").EnumerateArray().Select(a => a.GetString()));
            Assert.True(eth1.GetProperty("counters").GetProperty("txPackets").GetUInt64() >= 3, eth1.ToString());

            var id = (await Http.ReadAsync<LabDto>(await r.Admin.GetAsync($"/api/v1/labs/{name}"), 200)).Id;
            LabUsageDto? usage = null;
            await Labs.LabTestSupport.WaitForAsync(async () =>
            {
                usage = await Http.ReadAsync<LabUsageDto>(await r.Admin.GetAsync($"/api/v1/labs/{id}/usage"), 200);
                // A sample taken after the ping (the first ones may be older).
                return usage.Nodes.Count == 2 && usage.Nodes.Single(n => n.Node == "a").Interfaces.Any(i => i.Name == "eth1" && i.TxPackets >= 3);
            }, "both remote nodes in the lab's usage, a's eth1 with the ping's packets");
            Assert.All(usage!.Nodes, n => Assert.Equal(r.HostName, n.Host));
            var a = usage.Nodes.Single(n => n.Node == "a");
            Assert.True(a.MemoryBytes > 0 && a.Interfaces.Single(i => i.Name == "eth1").TxPackets >= 3, JsonSerializer.Serialize(a));
        }
        finally
        {
            await r.LtbAsync(null, "lab", "destroy", name);
            Directory.Delete(folder, recursive: true);
        }
    }
}
