using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Ltb.Server.Api;
using Ltb.Server.Tests.Cli;
using Ltb.Server.Tests.Infrastructure;
using Ltb.Testing;

namespace Ltb.Server.Tests.Labs;

/// <summary>
/// Two `ltb serve` replicas on one PostgreSQL database and one data folder, started at the same moment (start-up work
/// takes turns), take lab tasks through either of them: every task runs once, on one replica.
/// </summary>
public sealed partial class ReplicaTests
{
    private const int Labs = 4;

    [Fact]
    public async Task Two_replicas_on_one_database_run_every_task_once_and_destroy_leaves_nothing()
    {
        LabTestSupport.RequireDocker();
        var (database, unavailable) = await PostgresTestDatabase.CreateAsync();
        Prerequisite.Require(database is not null, unavailable ?? "PostgreSQL");
        await using var _ = database!;
        var data = Directory.CreateTempSubdirectory("ltb-replicas-data-").FullName;
        var home = Directory.CreateTempSubdirectory("ltb-replicas-home-").FullName;
        var ports = new[] { ServeProcess.FreePort(), ServeProcess.FreePort() };
        var env = ServeProcess.HomeEnvironment(home);
        env["LTB_ADMIN_PASSWORD"] = ServeProcess.Password;
        var replicas = ports.Select((port, i) => LtbProcess.Start(
            ["serve", "--data", data, "--listen", $"http://127.0.0.1:{port}", "--replica", $"r{i + 1}",
                "--database", "postgres", "--connection-string", database!.ConnectionString], env, $"ltb serve r{i + 1}")).ToList();
        var clients = new List<HttpClient>();
        var runtimeNames = new List<string>();
        try
        {
            foreach (var r in replicas)
            {
                await r.WaitForLineAsync(l => l.StartsWith("LTB is listening on", StringComparison.Ordinal), TimeSpan.FromMinutes(4));
            }
            foreach (var port in ports)
            {
                var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
                var login = await Http.ReadAsync<LoginResponse>(
                    await client.PostAsJsonAsync("/api/v1/auth/login", new LoginRequest("admin", ServeProcess.Password)), 200);
                client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", login.Token);
                clients.Add(client);
            }

            // Deployed at once, half through each replica.
            var deployed = await Task.WhenAll(Enumerable.Range(0, Labs).Select(n =>
                LabTestSupport.DeployAsync(clients[n % 2], LabTestSupport.TinyLab(ServerFixture.Unique("rep")))));
            runtimeNames.AddRange(deployed.Select(d => d.Lab.RuntimeName));
            var ranOn = new List<string>();
            foreach (var (d, n) in deployed.Select((d, n) => (d, n)))
            {
                // Read through the other replica than the one it was sent to.
                var task = await LabTestSupport.WaitAsync(clients[(n + 1) % 2], d.Task.Id);
                Assert.True(task.State == "succeeded", string.Join("\n", task.Log));
                Assert.Equal(1, task.Attempts);
                var starts = task.Log.Select(l => Attempt().Match(l)).Where(m => m.Success).ToList();
                Assert.True(starts.Count == 1, string.Join("\n", task.Log));
                ranOn.Add(starts[0].Groups[1].Value);
                var lab = await Http.ReadAsync<LabDto>(await clients[n % 2].GetAsync($"/api/v1/labs/{d.Lab.Id}"), 200);
                Assert.Equal("running", lab.State);
            }
            Assert.All(ranOn, r => Assert.Contains(r, new[] { "r1", "r2" }));

            var removals = await Task.WhenAll(deployed.Select(async (d, n) => await Http.ReadAsync<LabTaskAccepted>(await clients[(n + 1) % 2].DeleteAsync($"/api/v1/labs/{d.Lab.Id}"), 202)));
            foreach (var r in removals)
            {
                var task = await LabTestSupport.WaitAsync(clients[0], r.Task.Id);
                Assert.True(task.State == "succeeded", string.Join("\n", task.Log));
                Assert.Equal(1, task.Attempts);
            }
            foreach (var name in runtimeNames)
            {
                Assert.Equal(0, await LabTestSupport.LeftoversAsync(name));
            }
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
            foreach (var r in replicas)
            {
                await r.DisposeAsync();
            }
            Directory.Delete(data, recursive: true);
            Directory.Delete(home, recursive: true);
        }
    }

    [GeneratedRegex(@"attempt \d+ of \d+ on replica '([^']+)'")]
    private static partial Regex Attempt();
}
