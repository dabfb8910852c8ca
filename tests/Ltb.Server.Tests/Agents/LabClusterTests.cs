using Ltb.Server.Api;
using Ltb.Server.Tests.Infrastructure;

namespace Ltb.Server.Tests.Agents;

/// <summary>The test bed of the multi-host tests works as they assume: hosts reach each other, and a killed controller or
/// agent comes back and the hosts are ready again.</summary>
public sealed class LabClusterTests
{
    [Fact]
    public async Task Two_hosts_reach_each_other_over_the_fabric_and_survive_a_killed_controller_and_agent()
    {
        LabCluster.Require();
        await using var cluster = await LabCluster.StartAsync(new LabClusterOptions { Hosts = 2 });
        var (a, b) = (cluster.Hosts[0], cluster.Hosts[1]);
        var ping = await a.Sim.Inside("ping", "-c", "1", "-W", "2", b.FabricAddress!.ToString());
        Assert.True(ping.ExitCode == 0, ping.Stdout + ping.Stderr);

        await cluster.KillControllerAsync();
        await cluster.StartControllerAsync();
        await b.KillAgentAsync();
        await b.StartAgentAsync();
        var hosts = await Http.ReadAsync<Paged<HostDto>>(await cluster.Admin.GetAsync("/api/v1/hosts?label=rack=sim", TestContext.Current.CancellationToken), 200);
        Assert.Equal(new[] { (a.Name, "ready"), (b.Name, "ready") }.Order(), hosts.Items.Select(h => (h.Name, h.State)).Order());
    }
}
