using System.Net.Http.Json;
using Ltb.Server.Tests.Agents;
using Ltb.Server.Tests.Infrastructure;
using Ltb.Server.Tests.Labs;
using Ltb.Testing;

namespace Ltb.Server.Tests.Deploy;

/// <summary>
/// deploy/compose.yaml for real, with Debian's docker-compose 1.29: the images built on the offline base
/// (deploy/build-images.sh --offline), the stack up under a project name and ports of the test's own, /readyz, sign-in,
/// a host token, the agent started and registered over TLS, a lab deployed through it (a ping crosses its link, a console
/// session runs), destroyed, and `down -v` leaves no container, network or volume of the project.
/// </summary>
public sealed class ComposeTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ltb-compose-").FullName;
    private readonly string _project = ServerFixture.Unique("ltbct");
    private readonly string _agentData;

    public ComposeTests() => _agentData = $"/var/lib/{_project}-agent";

    public void Dispose()
    {
        Directory.Delete(_dir, recursive: true);
        if (Directory.Exists(_agentData))
        {
            Directory.Delete(_agentData, recursive: true);
        }
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string EnvFile => Path.Combine(_dir, ".env");

    private Task<HostCommand.Result> ComposeAsync(params string[] args) =>
        HostCommand.RunAsync("docker-compose",
            ["-p", _project, "-f", Path.Combine(Repo.Root, "deploy", "compose.yaml"), "--env-file", EnvFile, "--profile", "agent", .. args],
            TimeSpan.FromMinutes(5), new Dictionary<string, string> { ["DOCKER_API_VERSION"] = "1.41" });

    [Fact]
    public async Task The_compose_stack_runs_a_lab_through_its_agent_and_down_leaves_nothing()
    {
        Prerequisite.RequireRoot();
        Prerequisite.RequireCommand("docker-compose");
        LabTestSupport.RequireDocker();
        (await HostCommand.RunAsync("bash", [Path.Combine(Repo.Root, "deploy", "build-images.sh"), "--offline"], TimeSpan.FromMinutes(20)))
            .EnsureSuccess("deploy/build-images.sh --offline");

        using var ca = await TestCertificateAuthority.CreateAsync("LTB compose test CA");
        var (cert, key) = await ca.IssueAsync("agent", "host.docker.internal");
        var certs = Directory.CreateDirectory(Path.Combine(_dir, "certs")).FullName;
        File.Copy(ca.CertificateFile, Path.Combine(certs, "ca.crt"));
        File.Copy(cert, Path.Combine(certs, "agent.crt"));
        File.Copy(key, Path.Combine(certs, "agent.key"));
        int http = Ports.Free(), ssh = Ports.Free(), agentPort = Ports.Free();
        var agentName = _project + "-agent";
        var env = (await File.ReadAllTextAsync(Path.Combine(Repo.Root, "deploy", ".env.example"), Ct))
            .Replace("LTB_DB_PASSWORD=change-me", "LTB_DB_PASSWORD=compose-Db-Passw0rd", StringComparison.Ordinal)
            .Replace("LTB_ADMIN_PASSWORD=\n", $"LTB_ADMIN_PASSWORD={ServerFixture.AdminPassword}\n", StringComparison.Ordinal)
            .Replace("LTB_HTTP_PORT=8480", $"LTB_HTTP_PORT={http}", StringComparison.Ordinal)
            .Replace("LTB_SSH_BIND=0.0.0.0", "LTB_SSH_BIND=127.0.0.1", StringComparison.Ordinal)
            .Replace("LTB_SSH_PORT=2222", $"LTB_SSH_PORT={ssh}", StringComparison.Ordinal)
            .Replace("LTB_AGENT_NAME=compose-agent", $"LTB_AGENT_NAME={agentName}", StringComparison.Ordinal)
            .Replace("LTB_AGENT_PORT=7443", $"LTB_AGENT_PORT={agentPort}", StringComparison.Ordinal)
            .Replace("LTB_AGENT_DATA=/var/lib/ltb-agent", $"LTB_AGENT_DATA={_agentData}", StringComparison.Ordinal)
            .Replace("LTB_CERTS=./certs", $"LTB_CERTS={certs}", StringComparison.Ordinal)
            .Replace("LTB_POSTGRES_IMAGE=postgres:16", "LTB_POSTGRES_IMAGE=ltb-deploy/postgres:15", StringComparison.Ordinal);
        await File.WriteAllTextAsync(EnvFile, env, Ct);
        Directory.CreateDirectory("/run/netns");
        try
        {
            await RunStackAsync(http, agentName);
        }
        finally
        {
            var down = await ComposeAsync("down", "-v", "--remove-orphans", "--timeout", "20");
            Assert.True(down.ExitCode == 0, $"docker-compose down: {down.Stderr}");
        }
        await AssertNothingLeftAsync();
    }

    private async Task RunStackAsync(int http, string agentName)
    {
        // The control plane and its database first (the agent needs a host token, made by an admin through the API).
        (await ComposeAsync("up", "-d", "postgres", "server")).EnsureSuccess("docker-compose up -d postgres server");
        using var api = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{http}"), Timeout = TimeSpan.FromSeconds(10) };
        await WaitAsync(async () => (await api.GetAsync("/readyz", Ct)).IsSuccessStatusCode, "the server's /readyz", TimeSpan.FromMinutes(3),
            () => ComposeAsync("logs", "--tail", "40"));
        var login = await Http.ReadAsync<LoginResponse>(await api.PostAsJsonAsync("/api/v1/auth/login",
            new LoginRequest("admin", ServerFixture.AdminPassword), Ct), 200);
        api.DefaultRequestHeaders.Authorization = new("Bearer", login.Token);
        var token = await Http.ReadAsync<CreatedHostTokenDto>(await api.PostAsJsonAsync("/api/v1/hosts/tokens", new CreateHostTokenRequest(agentName), Ct), 201);
        await File.WriteAllTextAsync(EnvFile, (await File.ReadAllTextAsync(EnvFile, Ct))
            .Replace("LTB_HOST_TOKEN=\n", $"LTB_HOST_TOKEN={token.Secret}\n", StringComparison.Ordinal), Ct);

        (await ComposeAsync("up", "-d", "agent")).EnsureSuccess("docker-compose up -d agent");
        await WaitAsync(async () => (await Http.ReadAsync<Paged<HostDto>>(await api.GetAsync("/api/v1/hosts", Ct), 200)).Items
            .Any(h => h.Name == agentName && h.State == "ready"), "the compose agent to register", TimeSpan.FromMinutes(2),
            () => ComposeAsync("logs", "--tail", "40", "agent"));

        // A lab through the compose agent: its nodes ping over their link, a console session runs in one.
        var name = ServerFixture.Unique("cmp");
        var form = LabTestSupport.Upload(LabTestSupport.TinyLab(name));
        form.Add(new StringContent(agentName), "host");
        await using var lab = await ServerLab.RunAsync(api, form);
        var ping = await Http.ReadAsync<ExecResponse>(await api.PostAsJsonAsync($"/api/v1/labs/{name}/exec",
            new ExecRequest("a", ["ping", "-c", "2", "-W", "2", "10.0.0.2"]), Ct), 200);
        Assert.True(ping.ExitCode == 0, ping.Stdout + ping.Stderr);
        await using (var console = await ExecSocketClient.OpenExecAsync(api.BaseAddress!.ToString().TrimEnd('/'), login.Token, name, "b",
                         ["sh"], "&tty=true&rows=24&cols=80"))
        {
            await console.TypeAsync("echo console-$((40 + 2)); exit\n");
            await console.WaitForAsync("console-42");
        }
        await lab.DestroyAsync();
        await lab.AssertNoLeftoversAsync();
    }

    private async Task AssertNothingLeftAsync()
    {
        var label = $"label=com.docker.compose.project={_project}";
        foreach (var what in new[] { "ps -a", "network ls", "volume ls" })
        {
            var left = await HostCommand.RunAsync("docker", [.. what.Split(' '), "-q", "--filter", label], TimeSpan.FromMinutes(1),
                new Dictionary<string, string> { ["DOCKER_API_VERSION"] = "1.41" });
            Assert.True(left.ExitCode == 0 && left.Stdout.Trim().Length == 0, $"docker {what} of the project after down -v: {left.Stdout}{left.Stderr}");
        }
    }

    private static async Task WaitAsync(Func<Task<bool>> ready, string what, TimeSpan timeout, Func<Task<HostCommand.Result>> logs)
    {
        var until = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < until)
        {
            try
            {
                if (await ready())
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException) when (!Ct.IsCancellationRequested)
            {
            }
            await Task.Delay(1000, Ct);
        }
        var log = await logs();
        Assert.Fail($"waited {timeout} for {what}; compose logs:\n{log.Stdout}\n{log.Stderr}");
    }
}
