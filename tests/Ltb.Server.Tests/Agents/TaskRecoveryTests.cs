using System.Text;
using System.Text.RegularExpressions;
using Ltb.Server.Api;
using Ltb.Server.Tests.Infrastructure;
using Ltb.Server.Tests.Labs;

namespace Ltb.Server.Tests.Agents;

/// <summary>
/// Lab tasks survive the loss of the controller or of an agent in the middle of a deployment: the task is retried
/// (a retry removes what the cut-off attempt left and deploys again) and the lab ends running with exactly the planned
/// containers on the host, no duplicates, no orphans; destroying it then leaves nothing (LabCluster checks the hosts).
/// </summary>
public sealed partial class TaskRecoveryTests
{
    private const int Nodes = 10;

    /// <summary>
    /// SQLite (embedded mode): the jobs lived in the killed process; the start-up reconciler queues the cut-off task again.
    /// PostgreSQL: the job survives in the database; Hangfire hands it to the new process once the dead one stopped
    /// keeping it (the invisibility timeout), and the runner sees a Running task it did not start: a retry.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_deployment_cut_off_by_a_killed_controller_is_retried_and_ends_with_exactly_the_planned_containers(bool postgres)
    {
        LabCluster.Require();
        await using var cluster = await LabCluster.StartAsync(new LabClusterOptions
        {
            Postgres = postgres,
            ServeArgs = ["--replica", "kc"],
        });
        var host = cluster.Hosts[0];
        var accepted = await DeployOnAsync(cluster.Admin, ChainLab(ServerFixture.Unique("kc"), Nodes), host.Name);
        await WaitUntilDeployingAsync(cluster.Admin, accepted.Task.Id);

        await cluster.KillControllerAsync();
        await cluster.StartControllerAsync();

        await ExpectConvergedAsync(cluster, host, accepted);
    }

    /// <summary>
    /// The agent dies in the middle of the deployment (its half-made containers stay in its engine): the attempt fails
    /// on the dropped connection, the task waits for the host without using up attempts, and when the agent is back
    /// the retry converges. (Failing instead would leave the user a half-deployed lab to clean up; the host's engine
    /// and the lab's plan are intact, so running the deployment again is the consistent end.)
    /// </summary>
    [Fact]
    public async Task A_deployment_cut_off_by_a_killed_agent_waits_for_the_host_and_converges_when_it_is_back()
    {
        LabCluster.Require();
        await using var cluster = await LabCluster.StartAsync();
        var host = cluster.Hosts[0];
        var accepted = await DeployOnAsync(cluster.Admin, ChainLab(ServerFixture.Unique("ka"), Nodes), host.Name);
        await WaitUntilDeployingAsync(cluster.Admin, accepted.Task.Id);

        await host.KillAgentAsync();
        var waiting = await WaitForTaskAsync(cluster.Admin, accepted.Task.Id,
            t => t.State == "queued" && t.Log.Any(l => l.Contains("waiting for host", StringComparison.Ordinal)), TimeSpan.FromMinutes(2));
        Assert.Contains(waiting.Log, l => l.Contains("attempt 1 failed", StringComparison.Ordinal));
        Assert.Equal(1, waiting.Attempts);
        await host.StartAgentAsync();

        var done = await ExpectConvergedAsync(cluster, host, accepted);
        Assert.Equal(2, done.Attempts);
        // The killed attempt had not finished: the host removed what it left and deployed again.
        Assert.Contains(done.Log, l => l.Contains("removing what an earlier attempt left, then deploying again", StringComparison.Ordinal));
    }

    /// <summary>A chain of ltb/tiny nodes: long enough to catch its deployment in the middle.</summary>
    public static string ChainLab(string name, int nodes)
    {
        var yaml = new StringBuilder($"name: {name}\ntopology:\n  nodes:\n");
        for (var n = 1; n <= nodes; n++)
        {
            yaml.Append($"    n{n}:\n      kind: linux\n      image: ltb/tiny:latest\n");
        }
        yaml.Append("  links:\n");
        for (var n = 1; n < nodes; n++)
        {
            yaml.Append($"    - endpoints: [\"n{n}:eth1\", \"n{n + 1}:eth2\"]\n");
        }
        return yaml.ToString();
    }

    public static async Task<LabTaskAccepted> DeployOnAsync(HttpClient client, string yaml, string host)
    {
        using var content = LabTestSupport.Upload(yaml);
        content.Add(new StringContent(host), "host");
        return await Http.ReadAsync<LabTaskAccepted>(await client.PostAsync("/api/v1/labs", content), 202);
    }

    /// <summary>Until the task runs and the host has reported work on nodes (the deployment is under way).</summary>
    private static Task<LabTaskDto> WaitUntilDeployingAsync(HttpClient client, Guid task) =>
        WaitForTaskAsync(client, task, t => t.State == "running" && t.Log.Any(l => NodeLine().IsMatch(l)), TimeSpan.FromMinutes(3));

    [GeneratedRegex(@" n\d+: ")]
    private static partial Regex NodeLine();

    public static async Task<LabTaskDto> WaitForTaskAsync(HttpClient client, Guid task, Func<LabTaskDto, bool> done, TimeSpan timeout)
    {
        using var limit = new CancellationTokenSource(timeout);
        LabTaskDto? last = null;
        while (!limit.IsCancellationRequested)
        {
            try
            {
                last = await Http.ReadAsync<LabTaskDto>(await client.GetAsync($"/api/v1/tasks/{task}", limit.Token), 200);
                if (done(last))
                {
                    return last;
                }
                Assert.False(last.State is "succeeded" or "failed", $"the task ended before the moment the test waits for: {Describe(last)}");
            }
            catch (HttpRequestException)
            {
                // the controller is starting again
            }
            catch (OperationCanceledException) when (limit.IsCancellationRequested)
            {
                break;
            }
            await Task.Delay(200, CancellationToken.None);
        }
        throw new TimeoutException($"task {task} did not reach the expected point within {timeout}: {(last is null ? "never read" : Describe(last))}");
    }

    private static async Task<LabTaskDto> ExpectConvergedAsync(LabCluster cluster, ClusterHost host, LabTaskAccepted accepted)
    {
        var done = await WaitForTaskAsync(cluster.Admin, accepted.Task.Id, t => t.State is "succeeded" or "failed", TimeSpan.FromMinutes(6));
        Assert.True(done.State == "succeeded", Describe(done));
        Assert.True(done.Attempts >= 2, Describe(done));
        var lab = await Http.ReadAsync<LabDto>(await cluster.Admin.GetAsync($"/api/v1/labs/{accepted.Lab.Id}"), 200);
        Assert.Equal("running", lab.State);
        Assert.Equal(Nodes, lab.Nodes.Count);
        Assert.Equal(Nodes, (await ContainersAsync(host, lab.RuntimeName)).Count);

        var removal = await Http.ReadAsync<LabTaskAccepted>(await cluster.Admin.DeleteAsync($"/api/v1/labs/{lab.Id}"), 202);
        Assert.Equal("succeeded", (await LabTestSupport.WaitAsync(cluster.Admin, removal.Task.Id)).State);
        Assert.Empty(await ContainersAsync(host, lab.RuntimeName));
        return done;
    }

    private static async Task<IReadOnlyList<string>> ContainersAsync(ClusterHost host, string runtimeName) =>
        (await host.Sim.DockerAsync("ps", "-aq", "--filter", $"label=org.ltb.lab={runtimeName}")).Stdout
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static string Describe(LabTaskDto t) => $"{t.State} after {t.Attempts} attempt(s), error: {t.Error}\n{string.Join("\n", t.Log)}";
}
