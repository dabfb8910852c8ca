using System.Net.Http.Json;
using Ltb.Server.Tests.Infrastructure;
using Ltb.Server.Tests.Labs;
using Ltb.Testing;

namespace Ltb.Server.Tests.Cli;

/// <summary>
/// deploy/install.sh into a temporary root: the folders, settings and units it writes, `systemd-analyze verify` of the
/// units, an upgrade that keeps the settings, and `ltb serve` and `ltb agent` started with the units' own command lines
/// and settings files (systemd itself cannot run as PID 1 here): the agent registers with the server and shows ready.
/// </summary>
public sealed class InstallTests(PublishedLtb published) : IClassFixture<PublishedLtb>, IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("ltb-install-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string In(string path) => Path.Combine(_root, path.TrimStart('/'));

    [Fact]
    public async Task The_install_script_writes_verified_units_and_their_command_lines_run_the_server_and_an_agent()
    {
        Prerequisite.RequireRoot();
        Prerequisite.RequireCommand("systemd-analyze");
        LabTestSupport.RequireDocker();
        var install = (await HostCommand.RunAsync("bash", [Path.Combine(Repo.Root, "deploy", "install.sh"), "--root", _root, "--from", published.Folder]))
            .EnsureSuccess("deploy/install.sh");
        Assert.Contains("wrote " + In("/etc/ltb/server.env"), install.Stderr);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(In("/etc/ltb/server.env")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(In("/etc/ltb/agent.env")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(In("/var/lib/ltb")));
        Assert.Equal("/opt/ltb/ltb", new FileInfo(In("/usr/local/bin/ltb")).LinkTarget);

        await VerifyUnitsAsync();

        // An upgrade: the program is replaced (the old one kept), the admin's settings are not.
        await File.AppendAllTextAsync(In("/etc/ltb/server.env"), "# the admin's own line\n", Ct);
        var upgrade = (await HostCommand.RunAsync("bash", [Path.Combine(Repo.Root, "deploy", "install.sh"), "--root", _root, "--from", published.Folder]))
            .EnsureSuccess("deploy/install.sh (upgrade)");
        Assert.Contains("kept " + In("/etc/ltb/server.env"), upgrade.Stderr);
        Assert.Contains("# the admin's own line", await File.ReadAllTextAsync(In("/etc/ltb/server.env"), Ct));
        Assert.True(File.Exists(In("/opt/ltb.previous/ltb")), "the previous program is kept for a rollback");

        await RunServerAndAgentAsync();
    }

    /// <summary>`systemd-analyze verify --root`: the units' options exist and mean something here, their programs exist.</summary>
    private async Task VerifyUnitsAsync()
    {
        // The system's own units (targets the ltb units name) inside the root, as on a real system.
        Directory.CreateDirectory(In("/usr/lib/systemd"));
        (await HostCommand.RunAsync("cp", "-a", "/usr/lib/systemd/system", In("/usr/lib/systemd/")))
            .EnsureSuccess("copying the system's units");
        var verify = await HostCommand.RunAsync("systemd-analyze",
            ["verify", $"--root={_root}", In("/etc/systemd/system/ltb-server.service"), In("/etc/systemd/system/ltb-agent.service")]);
        // verify exits 0 with warnings for unknown options: none may be printed.
        Assert.True(verify.ExitCode == 0 && verify.Stderr.Trim().Length == 0 && verify.Stdout.Trim().Length == 0,
            $"systemd-analyze verify: {verify.ExitCode} {verify.Stdout} {verify.Stderr}");
    }

    private async Task RunServerAndAgentAsync()
    {
        var port = Ports.Free();
        var server = Settings("/etc/ltb/server.env");
        server["LTB_LISTEN"] = $"http://127.0.0.1:{port}";
        server["LTB_ADMIN_PASSWORD"] = ServerFixture.AdminPassword;
        var (program, args) = ExecStart("ltb-server.service", server);
        await using var serve = LtbProcess.StartProgram(program, args, server, "the installed ltb serve");
        await serve.WaitForLineAsync(l => l.StartsWith("LTB is listening on", StringComparison.Ordinal), TimeSpan.FromMinutes(2));
        Assert.Contains($"database: SQLite in {In("/var/lib/ltb")}", serve.Output);

        using var api = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        var login = await Http.ReadAsync<LoginResponse>(await api.PostAsJsonAsync("/api/v1/auth/login",
            new LoginRequest("admin", ServerFixture.AdminPassword), Ct), 200);
        api.DefaultRequestHeaders.Authorization = new("Bearer", login.Token);
        var name = ServerFixture.Unique("installed");
        var token = await Http.ReadAsync<CreatedHostTokenDto>(await api.PostAsJsonAsync("/api/v1/hosts/tokens", new CreateHostTokenRequest(name), Ct), 201);

        var agent = Settings("/etc/ltb/agent.env");
        agent["LTB_CONTROLLER"] = $"http://127.0.0.1:{port}";
        agent["LTB_HOST_TOKEN"] = token.Secret;
        agent["LTB_AGENT_ARGS"] = $"--name {name} --listen 127.0.0.1:{Ports.Free()}";
        (program, args) = ExecStart("ltb-agent.service", agent);
        await using var host = LtbProcess.StartProgram(program, args, agent, "the installed ltb agent");
        await host.WaitForLineAsync(l => l.Contains($"LTB agent '{name}' registered", StringComparison.Ordinal), TimeSpan.FromMinutes(2));
        var hosts = await Http.ReadAsync<Paged<HostDto>>(await api.GetAsync("/api/v1/hosts", Ct), 200);
        var registered = Assert.Single(hosts.Items, h => h.Name == name);
        Assert.Equal("ready", registered.State);
        Assert.StartsWith("0.", registered.AgentVersion);
        Assert.True(Directory.Exists(In("/var/lib/ltb-agent/runtime")) || Directory.Exists(In("/var/lib/ltb-agent")), "the agent's data folder");
    }

    /// <summary>The VAR=value lines of a settings file (comments and blank lines left out).</summary>
    private Dictionary<string, string> Settings(string file) =>
        File.ReadAllLines(In(file)).Where(l => l.Length > 0 && !l.StartsWith('#') && l.Contains('=', StringComparison.Ordinal))
            .Select(l => l.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);

    /// <summary>
    /// The unit's ExecStart as systemd runs it: $VAR expanded from the settings and split at spaces, and every path
    /// of the installed layout (/opt/ltb, /var/lib/...) inside the temporary root.
    /// </summary>
    private (string Program, List<string> Args) ExecStart(string unit, IReadOnlyDictionary<string, string> settings)
    {
        var line = File.ReadAllLines(In($"/etc/systemd/system/{unit}")).Single(l => l.StartsWith("ExecStart=", StringComparison.Ordinal))["ExecStart=".Length..];
        var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .SelectMany(w => w.StartsWith('$') ? settings.GetValueOrDefault(w[1..], "").Split(' ', StringSplitOptions.RemoveEmptyEntries) : [w])
            .Select(w => w.StartsWith("/opt/", StringComparison.Ordinal) || w.StartsWith("/var/", StringComparison.Ordinal) ? In(w) : w)
            .ToList();
        return (words[0], words[1..]);
    }
}
