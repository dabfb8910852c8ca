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
        // The restarted controller may find A's last heartbeat older than the silence bound (it was down meanwhile) and
        // mark A unreachable until A's next heartbeat, a few seconds later: both must be ready again within a minute.
        var expected = new[] { (a.Name, "ready"), (b.Name, "ready") }.Order().ToList();
        var until = DateTime.UtcNow + TimeSpan.FromMinutes(1);
        List<(string, string)> states;
        while (true)
        {
            var hosts = await Http.ReadAsync<Paged<HostDto>>(await cluster.Admin.GetAsync("/api/v1/hosts?label=rack=sim", TestContext.Current.CancellationToken), 200);
            states = [.. hosts.Items.Select(h => (h.Name, h.State)).Order()];
            if (states.SequenceEqual(expected) || DateTime.UtcNow > until)
            {
                break;
            }
            await Task.Delay(1000, TestContext.Current.CancellationToken);
        }
        Assert.Equal(expected, states);
    }
}
