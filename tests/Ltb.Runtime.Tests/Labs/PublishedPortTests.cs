using System.Net.Sockets;
using Ltb.Runtime.Labs;
using Ltb.Runtime.Plan;
using Ltb.Runtime.Planning;
using Ltb.Runtime.Status;
using Ltb.Runtime.Tests.Support;
using Ltb.Topology;
using Ltb.Topology.Policy;

namespace Ltb.Runtime.Tests.Labs;

/// <summary>
/// A published port written without a host address is bound to the policy's address for a non-admin's topology (an
/// admin's stays on every address, as containerlab and Docker do); what was published shows in the lab's status, and
/// a TCP connection to the address and port shown reaches a listener in the node.
/// </summary>
public sealed class PublishedPortTests
{
    private static LabPlan Plan(string yaml, PlanningOptions options)
    {
        var loaded = TopologyLoader.LoadText(yaml, Path.Combine(Path.GetTempPath(), "lab.clab.yml"),
            new LoadOptions
            {
                Environment = new Dictionary<string, string>(), Trusted = options.Trusted, Policy = options.Policy,
                // As the server loads a student's topology: the images on the lab hosts are allowed.
                LocalImages = new HashSet<string>([TestLabs.TinyImage], StringComparer.Ordinal),
            });
        Assert.False(loaded.HasErrors, string.Join("\n", loaded.Diagnostics));
        var planned = LabPlanner.Plan(loaded.Lab!, options);
        Assert.True(planned.Succeeded, string.Join("\n", planned.Errors));
        return planned.Plan!;
    }

    private static string Topology(string lab, int port) => $$"""
        name: {{lab}}
        topology:
          nodes:
            web:
              kind: linux
              image: {{TestLabs.TinyImage}}
              cmd: sh -c 'while :; do nc -l -p 8080 -e echo hello-ltb; done'
              ports: ["{{port}}:8080", "127.0.0.1:{{port + 1}}:8081/udp"]
        """;

    [Fact]
    public void A_port_without_an_address_gets_the_policy_address_unless_an_admin_wrote_it()
    {
        var policy = TenantPolicy.Default with { Ports = new PortPolicy { Allowed = true, Address = "127.0.0.1" } };
        var student = Plan(Topology("pp", 30100), new PlanningOptions { Policy = policy });
        Assert.False(student.Trusted);
        Assert.Equal([new PortMapping(30100, 8080, "tcp", "127.0.0.1"), new PortMapping(30101, 8081, "udp", "127.0.0.1")], student.Nodes[0].Ports);
        var admin = Plan(Topology("pp", 30100), new PlanningOptions { Policy = policy, Trusted = true });
        Assert.True(admin.Trusted);
        Assert.Equal([new PortMapping(30100, 8080, "tcp", null), new PortMapping(30101, 8081, "udp", "127.0.0.1")], admin.Nodes[0].Ports);
    }

    [Fact]
    public async Task A_published_port_shows_in_the_status_and_reaches_a_listener_in_the_node()
    {
        var lab = TestLabs.UniqueName("pp");
        var port = FreePort();
        var plan = Plan(Topology(lab, port), new PlanningOptions
        {
            LabName = lab,
            Policy = TenantPolicy.Default with { Ports = new PortPolicy { Allowed = true, First = 30000, Last = 60999 } },
        });
        await using var fixture = await LabUnderTest.RequireAsync(plan, TestLabs.TinyImage);
        var status = await fixture.DeployAsync(new DeployOptions { OnFailure = FailurePolicy.Rollback });
        var web = status.Node("web");
        Assert.Equal([new PublishedPort("127.0.0.1", port, 8080, "tcp"), new PublishedPort("127.0.0.1", port + 1, 8081, "udp")], web.Ports);

        // Connect where the status says (the listener may still be starting: retried for a few seconds).
        var shown = web.Ports![0];
        var answer = await TestLabs.EventuallyAsync(async () =>
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(shown.HostIp, shown.HostPort, TestLabs.Ct);
                using var reader = new StreamReader(client.GetStream());
                return await reader.ReadLineAsync(TestLabs.Ct);
            }
            catch (SocketException)
            {
                return null;
            }
            catch (IOException)
            {
                return null;
            }
        }, a => a == "hello-ltb", TimeSpan.FromSeconds(20));
        Assert.Equal("hello-ltb", answer);
        await fixture.DestroyAsync();
        await fixture.AssertNoLeftoversAsync();
    }

    /// <summary>A free TCP port for the node (and the next for its UDP one), from the range 40000-59999.</summary>
    private static int FreePort()
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            var candidate = Random.Shared.Next(40000, 59999);
            try
            {
                using var probe = new TcpListener(System.Net.IPAddress.Loopback, candidate);
                probe.Start();
                return candidate;
            }
            catch (SocketException)
            {
            }
        }
        throw new InvalidOperationException("no free TCP port found");
    }
}
