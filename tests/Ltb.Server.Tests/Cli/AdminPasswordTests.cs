using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Ltb.Server.Tests.Infrastructure;
using Ltb.Testing;

namespace Ltb.Server.Tests.Cli;

/// <summary>
/// The generated admin password as scripts/up.sh shows it: printed by every `ltb serve` start while it is kept in the
/// data folder's 0600 file, gone once the admin changes it, and `ltb admin reset-password` for a lost one.
/// </summary>
public sealed class AdminPasswordTests : IAsyncLifetime
{
    private readonly string _data = Directory.CreateTempSubdirectory("ltb-admin-data-").FullName;
    private readonly string _home = Directory.CreateTempSubdirectory("ltb-admin-home-").FullName;
    private readonly string _url = $"http://127.0.0.1:{ServeProcess.FreePort()}";
    private LtbProcess? _serve;

    private string PasswordFile => Path.Combine(_data, "initial-admin-password");

    [Fact]
    public async Task The_generated_password_is_shown_on_every_start_until_changed_and_a_lost_one_can_be_reset()
    {
        var first = await StartAsync();
        var created = Assert.Single(first, l => l.StartsWith("Created the admin account 'admin' with password: ", StringComparison.Ordinal));
        var password = created["Created the admin account 'admin' with password: ".Length..];
        Assert.Matches("^[A-Za-z0-9]{20}$", password);
        Assert.Contains(first, l => l.Contains($"kept in {PasswordFile} until the admin changes it", StringComparison.Ordinal));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(PasswordFile));
        Assert.Equal(password + "\n", await File.ReadAllTextAsync(PasswordFile, TestContext.Current.CancellationToken));

        // A second start (scripts/up.sh run again) shows the same password and where it is kept.
        await StopAsync();
        var second = await StartAsync();
        Assert.Contains($"Admin account 'admin', initial password: {password}", second);
        Assert.Contains(second, l => l.Contains(PasswordFile, StringComparison.Ordinal));

        // The admin changes it: the file goes at once, and later starts print no password.
        using var http = new HttpClient { BaseAddress = new Uri(_url) };
        var token = await LoginAsync(http, password);
        const string chosen = "Chosen-Admin-Passw0rd";
        using (var change = new HttpRequestMessage(HttpMethod.Post, "/api/v1/me/password")
        {
            Content = JsonContent.Create(new { currentPassword = password, newPassword = chosen }),
            Headers = { Authorization = new AuthenticationHeaderValue("Bearer", token) },
        })
        {
            using var changed = await http.SendAsync(change, TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.NoContent, changed.StatusCode);
        }
        Assert.False(File.Exists(PasswordFile));
        await StopAsync();
        var third = await StartAsync();
        Assert.DoesNotContain(third, l => l.Contains(password, StringComparison.Ordinal) || l.Contains(chosen, StringComparison.Ordinal));
        Assert.Contains(third, l => l.Contains($"ltb admin reset-password --data {_data}", StringComparison.Ordinal));

        // Lost: reset on the server machine while the server runs; old password and sessions stop working.
        var session = await LoginAsync(http, chosen);
        // The session is used first, so that the server holds its caller in the read cache the reset must drop.
        using (var me = new HttpRequestMessage(HttpMethod.Get, "/api/v1/me") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", session) } })
        {
            using var ok = await http.SendAsync(me, TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }
        var reset = await HostCommand.RunAsync(Path.Combine(Repo.Root, "ltb"), ["admin", "reset-password", "--data", _data],
            TimeSpan.FromMinutes(4), ServeProcess.HomeEnvironment(_home));
        Assert.True(reset.ExitCode == 0, reset.Stderr + reset.Stdout);
        var line = Assert.Single(reset.Stdout.Split('\n'), l => l.StartsWith("New password of 'admin': ", StringComparison.Ordinal));
        var fresh = line["New password of 'admin': ".Length..].Trim();
        Assert.Equal(fresh + "\n", await File.ReadAllTextAsync(PasswordFile, TestContext.Current.CancellationToken));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(PasswordFile));
        using (var me = new HttpRequestMessage(HttpMethod.Get, "/api/v1/me") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", session) } })
        {
            using var revoked = await http.SendAsync(me, TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.Unauthorized, revoked.StatusCode);
        }
        using (var old = await http.PostAsJsonAsync("/api/v1/auth/login", new { userName = "admin", password = chosen }, TestContext.Current.CancellationToken))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, old.StatusCode);
        }
        await LoginAsync(http, fresh);

        // An unknown account or data folder is one clear line.
        var unknown = await HostCommand.RunAsync(Path.Combine(Repo.Root, "ltb"), ["admin", "reset-password", "--data", _data, "--user", "nobody"],
            TimeSpan.FromMinutes(4), ServeProcess.HomeEnvironment(_home));
        Assert.Equal((1, "error: there is no user 'nobody' in this LTB database"), (unknown.ExitCode, unknown.Stderr.Trim()));
        var empty = Directory.CreateTempSubdirectory("ltb-admin-empty-").FullName;
        try
        {
            var none = await HostCommand.RunAsync(Path.Combine(Repo.Root, "ltb"), ["admin", "reset-password", "--data", empty],
                TimeSpan.FromMinutes(4), ServeProcess.HomeEnvironment(_home));
            Assert.Equal(1, none.ExitCode);
            Assert.StartsWith($"error: there is no LTB database in {empty}", none.Stderr.Trim());
        }
        finally
        {
            Directory.Delete(empty, recursive: true);
        }
    }

    private static async Task<string> LoginAsync(HttpClient http, string password)
    {
        using var login = await http.PostAsJsonAsync("/api/v1/auth/login", new { userName = "admin", password }, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        return (await login.Content.ReadFromJsonAsync<JsonElement>(TestContext.Current.CancellationToken)).GetProperty("token").GetString()!;
    }

    /// <summary>`./ltb serve` without LTB_ADMIN_PASSWORD; answers its lines up to and including those about the admin account.</summary>
    private async Task<IReadOnlyList<string>> StartAsync()
    {
        _serve = LtbProcess.Start(["serve", "--data", _data, "--listen", _url], ServeProcess.HomeEnvironment(_home), "ltb serve", unset: ["LTB_ADMIN_PASSWORD"]);
        await _serve.WaitForLineAsync(l => l.StartsWith("  (kept in", StringComparison.Ordinal) || l.Contains("reset-password", StringComparison.Ordinal),
            TimeSpan.FromMinutes(4));
        var output = _serve.Lines;
        Assert.Contains($"LTB is listening on {_url}", output);
        return output;
    }

    private async Task StopAsync()
    {
        if (_serve is not null)
        {
            await _serve.DisposeAsync();
            _serve = null;
        }
    }

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        Directory.Delete(_home, recursive: true);
        Directory.Delete(_data, recursive: true);
    }
}
