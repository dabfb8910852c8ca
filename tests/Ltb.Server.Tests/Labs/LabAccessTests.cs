using System.Net.Http.Json;
using Ltb.Server.Api;
using Ltb.Server.Tests.Infrastructure;

namespace Ltb.Server.Tests.Labs;

/// <summary>
/// GET /api/v1/labs/{lab}/access on a deployed lab: the addresses are the lab status's, a port bound on every address is
/// shown at the address the caller reached the server on, credentials and the Ansible platform come from the node type in
/// the catalog (as an admin changed it), groups from the topology; the ssh-config and inventory name the same facts; another
/// student is refused.
/// </summary>
public sealed class LabAccessTests(SqliteServer fixture) : IClassFixture<SqliteServer>
{
    [Fact]
    public async Task Access_lists_addresses_ports_credentials_and_groups_as_the_status_has_them()
    {
        LabTestSupport.RequireDocker();
        fixture.Require();
        var admin = fixture.Admin;
        // The catalog's credentials as an admin changed them (the fixture's server is this class's own): frr has none built in.
        // A kind the host reports it runs (placement refuses other kinds), with the small image: no FRR needed to read access.
        const string kind = "frr";
        var frr = await Http.ReadAsync<NodeTypeDto>(await admin.GetAsync($"/api/v1/node-types/{kind}"), 200);
        var definition = frr.Definition + """

            credentials: { username: "labuser", password: "Lab-Pass:1" }
            """;
        await Http.EnsureAsync(await admin.PatchAsJsonAsync($"/api/v1/node-types/{kind}", new UpdateNodeTypeRequest(definition)), 200, "the node type");
        var name = ServerFixture.Unique("ac");
        var hostPort = Random.Shared.Next(20000, 30000);
        await using var lab = await ServerLab.RunAsync(admin, $$"""
            name: {{name}}
            topology:
              groups:
                routers: {}
              nodes:
                r1:
                  kind: {{kind}}
                  image: ltb/tiny:latest
                  group: routers
                  ports: ["{{hostPort}}:80"]
                h1:
                  kind: linux
                  image: ltb/tiny:latest
              links:
                - endpoints: ["r1:eth1", "h1:eth1"]
            """);

        var status = await Http.ReadAsync<LabDto>(await admin.GetAsync($"/api/v1/labs/{name}"), 200);
        var access = await Http.ReadAsync<LabAccessDto>(await admin.GetAsync($"/api/v1/labs/{name}/access"), 200);
        Assert.Equal((lab.Id, name, "running"), (access.Lab, access.Name, access.State));
        Assert.Equal(status.Nodes.Select(n => (n.Name, n.MgmtIpv4, n.MgmtIpv6)).Order(),
            access.Nodes.Select(n => (n.Name, n.MgmtIpv4, n.MgmtIpv6)).Order());
        Assert.All(access.Nodes, n => Assert.NotNull(n.MgmtIpv4));
        var r1 = access.Nodes.Single(n => n.Name == "r1");
        var h1 = access.Nodes.Single(n => n.Name == "h1");
        Assert.Equal((kind, "running", "frr.frr.frr"), (r1.Kind, r1.State, r1.AnsibleNetworkOs));
        Assert.Equal(new NodeCredentialsDto("labuser", "Lab-Pass:1"), r1.Credentials);
        Assert.Equal(["routers"], r1.Groups);
        // Bound on every address (IPv4 and IPv6) by an admin's lab: reached at the address this client used for the server.
        Assert.All(status.Nodes.Single(n => n.Name == "r1").Ports!, p => Assert.Equal(hostPort, p.HostPort));
        var port = Assert.Single(r1.Ports);
        Assert.Equal((fixture.BaseAddress.Host, hostPort, 80, "tcp"), (port.HostIp, port.HostPort, port.NodePort, port.Protocol));
        Assert.Equal(("linux", null, null), (h1.Kind, h1.Credentials, h1.AnsibleNetworkOs));
        Assert.Empty(h1.Groups);
        Assert.Empty(h1.Ports);
        Assert.Equal($"/api/v1/labs/{access.Lab}/nodes/r1/console/ws", r1.ConsoleUrl);
        Assert.Null(r1.SshCommand);

        Assert.Contains($"Host {name}-r1\n  HostName {r1.MgmtIpv4}\n  User labuser\n", access.SshConfig);
        Assert.Contains($"Host {name}-h1\n  HostName {h1.MgmtIpv4}\n  StrictHostKeyChecking no", access.SshConfig);
        Assert.Contains("SSH gateway", access.SshConfig);
        Assert.Contains($"ansible_host: \"{r1.MgmtIpv4}\"", access.AnsibleInventory);
        Assert.Contains("ansible_password: \"Lab-Pass:1\"", access.AnsibleInventory);

        // Another student sees nothing of the lab, by id.
        var student = await fixture.CreateUserAsync("acs");
        using var other = await fixture.LoginAsync(student.UserName, ServerFixture.UserPassword);
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await other.GetAsync($"/api/v1/labs/{lab.Id}/access")).StatusCode);
        await lab.DestroyAsync();
    }
}
