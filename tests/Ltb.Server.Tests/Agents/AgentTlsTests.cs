using System.Net.Http.Json;
using Ltb.Server.Api;
using Ltb.Server.Tests.Infrastructure;
using Ltb.Server.Tests.Labs;

namespace Ltb.Server.Tests.Agents;

/// <summary>
/// Agents serving gRPC over TLS with certificates of a private CA issued as docs/operations.md shows: the controller that
/// trusts the CA (LTB_AGENT_CA) deploys labs there; one that does not cannot reach the agent and says why.
/// </summary>
public sealed class AgentTlsTests
{
    [Fact]
    public async Task A_lab_deploys_over_TLS_on_an_agent_whose_certificate_the_controller_trusts()
    {
        LabCluster.Require();
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = await LabCluster.StartAsync(new LabClusterOptions { AgentTls = true });
        var remote = cluster.Hosts[0];
        var host = Assert.Single((await Http.ReadAsync<Paged<HostDto>>(await cluster.Admin.GetAsync("/api/v1/hosts?label=rack=sim", ct), 200)).Items);
        Assert.Equal(($"https://{remote.Sim.Address}:{ClusterHost.AgentPort}", "ready"), (host.Address, host.State));

        var name = "tls" + Guid.NewGuid().ToString("N")[..6];
        using var content = LabTestSupport.Upload(LabTestSupport.TinyLab(name));
        content.Add(new StringContent(remote.Name), "host");
        var accepted = await Http.ReadAsync<LabTaskAccepted>(await cluster.Admin.PostAsync("/api/v1/labs", content, ct), 202);
        var task = await LabTestSupport.WaitAsync(cluster.Admin, accepted.Task.Id);
        Assert.True(task.State == "succeeded", $"{task.Error}\n{string.Join('\n', task.Log)}\nagent:\n{remote.Agent?.Output}");
        var exec = await Http.ReadAsync<ExecResponse>(await cluster.Admin.PostAsJsonAsync($"/api/v1/labs/{name}/exec",
            new ExecRequest("a", ["ping", "-c", "1", "-W", "2", "10.0.0.2"]), ct), 200);
        Assert.True(exec.ExitCode == 0, exec.Stdout + exec.Stderr);

        var removal = await Http.ReadAsync<LabTaskAccepted>(await cluster.Admin.DeleteAsync($"/api/v1/labs/{name}", ct), 202);
        Assert.Equal("succeeded", (await LabTestSupport.WaitAsync(cluster.Admin, removal.Task.Id)).State);
        Assert.Equal("", (await remote.Sim.DockerAsync("ps", "-aq")).Stdout.Trim());
    }

    [Fact]
    public async Task A_controller_that_does_not_trust_the_agents_CA_cannot_reach_it_and_the_waiting_deployment_says_why()
    {
        LabCluster.Require();
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = await LabCluster.StartAsync(new LabClusterOptions { AgentTls = true, ControllerTrustsAgentCa = false });
        var remote = cluster.Hosts[0];
        var name = "untrusted" + Guid.NewGuid().ToString("N")[..6];
        using var content = LabTestSupport.Upload(LabTestSupport.TinyLab(name));
        content.Add(new StringContent(remote.Name), "host");
        var accepted = await Http.ReadAsync<LabTaskAccepted>(await cluster.Admin.PostAsync("/api/v1/labs", content, ct), 202);
        // The host is not reachable for the controller: the task waits for it (a host away), saying why.
        var until = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        LabTaskDto task;
        do
        {
            await Task.Delay(500, ct);
            task = await Http.ReadAsync<LabTaskDto>(await cluster.Admin.GetAsync($"/api/v1/tasks/{accepted.Task.Id}", ct), 200);
        }
        while (task.Progress?.StartsWith("waiting for host", StringComparison.Ordinal) != true && DateTime.UtcNow < until);
        Assert.Equal(("queued", 0), (task.State, task.Attempts));
        Assert.True(task.Progress?.Contains($"host '{remote.Name}' presented a TLS certificate the controller does not trust", StringComparison.Ordinal),
            task.Progress);
        Assert.Contains("LTB_AGENT_CA", task.Progress);
        var lab = await Http.ReadAsync<LabDto>(await cluster.Admin.GetAsync($"/api/v1/labs/{name}", ct), 200);
        Assert.Equal(remote.Name, lab.Host);
        // Nothing reached the host.
        Assert.Equal("", (await remote.Sim.DockerAsync("ps", "-aq")).Stdout.Trim());
    }
}
