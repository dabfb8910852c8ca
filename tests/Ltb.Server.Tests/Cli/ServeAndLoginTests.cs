using System.Net;
using System.Net.Sockets;
using Ltb.Server.Tests.Infrastructure;
using Ltb.Testing;

namespace Ltb.Server.Tests.Cli;

/// <summary>`./ltb serve` started as a user starts it (a process, with LTB_ADMIN_PASSWORD, a temp --data and HOME).</summary>
public sealed partial class ServeProcess : IAsyncLifetime
{
    public const string Password = "Cli-Admin-Passw0rd";
    private readonly string _data = Directory.CreateTempSubdirectory("ltb-cli-data-").FullName;
    private LtbProcess? _serve;

    public string Home { get; } = Directory.CreateTempSubdirectory("ltb-cli-home-").FullName;

    public string Url { get; private set; } = "";

    /// <summary>The server's process id (its memory is read from /proc).</summary>
    public int Pid => _serve?.Process.Id ?? throw new InvalidOperationException("the server is not started");

    /// <summary>The server's data folder (labs' files live under labs/).</summary>
    public string Data => _data;

    public async ValueTask InitializeAsync()
    {
        Url = $"http://127.0.0.1:{FreePort()}";
        var env = HomeEnvironment(Home);
        env["LTB_ADMIN_PASSWORD"] = Password;
        env["LTB_SSH_PORT"] = "0";
        _serve = LtbProcess.Start(["serve", "--data", _data, "--listen", Url], env, "ltb serve");
        // ./ltb may build first: allow for it.
        await _serve.WaitForLineAsync(l => l.StartsWith("Created the admin account", StringComparison.Ordinal), TimeSpan.FromMinutes(4));
        var output = _serve.Lines;
        Assert.Contains($"LTB is listening on {Url}", output);
        Assert.Contains("Created the admin account 'admin' with the password from LTB_ADMIN_PASSWORD", output);
        // Root with OpenSSH's sshd (CI, a lab host): the SSH gateway starts with the server, on the port asked for.
        if (Environment.IsPrivilegedProcess && File.Exists("/usr/sbin/sshd"))
        {
            Assert.Contains(output, l => SshGatewayLine().IsMatch(l));
        }
        Assert.DoesNotContain(output, l => l.Contains(Password, StringComparison.Ordinal));
    }

    /// <summary>
    /// HOME points at a temp folder (credentials and data go there), but a build by ./ltb keeps using this user's
    /// NuGet packages and .NET home rather than restoring everything again into the temp folder.
    /// </summary>
    public static Dictionary<string, string> HomeEnvironment(string home)
    {
        var realHome = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return new Dictionary<string, string>
        {
            ["HOME"] = home,
            ["XDG_CONFIG_HOME"] = "",
            ["XDG_DATA_HOME"] = "",
            ["NUGET_PACKAGES"] = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } packages
                ? packages
                : Path.Combine(realHome, ".nuget", "packages"),
            ["DOTNET_CLI_HOME"] = Environment.GetEnvironmentVariable("DOTNET_CLI_HOME") is { Length: > 0 } cli ? cli : realHome,
        };
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^  SSH gateway: ssh -t -p [1-9][0-9]* ltb@127\.0\.0\.1 LAB/NODE$")]
    private static partial System.Text.RegularExpressions.Regex SshGatewayLine();

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        if (_serve is not null)
        {
            await _serve.DisposeAsync();
        }
        Directory.Delete(Home, recursive: true);
        Directory.Delete(_data, recursive: true);
    }
}

/// <summary>`./ltb login --password-stdin`, `whoami`, `logout` against a served LTB, run as a user runs them.</summary>
public sealed class ServeAndLoginTests(ServeProcess server) : IClassFixture<ServeProcess>
{
    private const string Password = ServeProcess.Password;
    private readonly string _home = server.Home;
    private readonly string _url = server.Url;

    private Dictionary<string, string> Env(params (string Key, string Value)[] extra)
    {
        var env = ServeProcess.HomeEnvironment(_home);
        env["LTB_SERVER"] = "";
        env["LTB_TOKEN"] = "";
        foreach (var (k, v) in extra)
        {
            env[k] = v;
        }
        return env;
    }

    private Task<HostCommand.Result> Ltb(string? stdin, Dictionary<string, string> env, params string[] args) =>
        HostCommand.RunAsync(Path.Combine(Repo.Root, "ltb"), args, TimeSpan.FromMinutes(4), env, stdin: stdin);

    [Fact]
    public async Task Login_stores_a_private_token_whoami_uses_it_and_logout_revokes_it()
    {
        var login = await Ltb(Password + "\n", Env(), "login", "--server", _url, "--user", "admin", "--password-stdin");
        Assert.True(login.ExitCode == 0, login.Stderr + login.Stdout);
        Assert.Contains($"Signed in to {_url}/ as admin", login.Stdout);

        var credentials = Path.Combine(_home, ".config", "ltb", "credentials.json");
        Assert.True(File.Exists(credentials));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(credentials));
        Assert.DoesNotContain(Password, await File.ReadAllTextAsync(credentials, TestContext.Current.CancellationToken));

        var whoami = await Ltb(null, Env(), "whoami");
        Assert.True(whoami.ExitCode == 0, whoami.Stderr);
        Assert.Equal($"admin (roles: admin) at {_url}/", whoami.Stdout.Trim());

        // LTB_TOKEN overrides the stored token; a bad one is one clear line and a non-zero exit.
        var bogus = await Ltb(null, Env(("LTB_TOKEN", "ltb_bogus")), "whoami");
        Assert.Equal(1, bogus.ExitCode);
        var error = Assert.Single(bogus.Stderr.Trim().Split('\n'));
        Assert.StartsWith("error: ", error);
        Assert.Contains("HTTP 401", error);

        var logout = await Ltb(null, Env(), "logout");
        Assert.True(logout.ExitCode == 0, logout.Stderr);
        Assert.False(File.Exists(credentials));
        var after = await Ltb(null, Env(("LTB_SERVER", _url)), "whoami");
        Assert.Equal(1, after.ExitCode);
        Assert.Contains("ltb login", after.Stderr);
    }

    [Fact]
    public async Task A_wrong_password_fails_with_the_servers_message()
    {
        var login = await Ltb("Wrong-Passw0rd\n", Env(), "login", "--server", _url, "--user", "admin", "--password-stdin");
        Assert.Equal(1, login.ExitCode);
        Assert.Equal("error: invalid user name or password [HTTP 401] (run: ltb login)", login.Stderr.Trim());
    }

    [Fact]
    public async Task An_unreachable_server_is_named_in_the_error()
    {
        var url = $"http://127.0.0.1:{ServeProcess.FreePort()}";
        var login = await Ltb("x\n", Env(), "login", "--server", url, "--user", "admin", "--password-stdin");
        Assert.Equal(1, login.ExitCode);
        Assert.StartsWith($"error: cannot reach the LTB server at {url}/", login.Stderr.Trim());
    }
}
