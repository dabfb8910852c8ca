using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;
using Ltb.Server.Data;
using Ltb.Server.Hosting;
using Ltb.Server.Tests.Infrastructure;
using Ltb.Server.Tests.Labs;
using Npgsql;

namespace Ltb.Server.Tests.Deploy;

/// <summary>
/// What the upgrade and backup tests look for in a platform they did not fill themselves (a previous release's data, a
/// restored backup): a user who signs in with the password it had, a template that lists and deploys with its files,
/// and a lab the store still knows.
/// </summary>
public sealed record PlatformContent(string AdminPassword, string User, string UserPassword, string Template, string Lab, string Motd)
{
    /// <summary>A server on <paramref name="database"/>'s data folder and database as they are (an admin is created only in an empty one).</summary>
    public static async Task<LtbServer> StartAsync(TestDatabase database, string? adminPassword = null)
    {
        var options = new LtbServerOptions
        {
            AdminPassword = adminPassword,
            DataDirectory = database.DataDirectory, Database = database.Provider, ConnectionString = database.ConnectionString,
            LoginPermitsPerMinute = 10_000, TokenPermitsPerMinute = 10_000, SeedDemoTemplate = false,
        };
        options.Urls.Clear();
        options.Urls.Add("http://127.0.0.1:0");
        return await LtbServer.StartAsync(options, TestContext.Current.CancellationToken);
    }

    /// <summary>
    /// Signs in as the admin and the user with their passwords; the user's lab is listed; the template lists, deploys as a
    /// new lab whose node sees the template's file, and that lab is destroyed; then the old lab is destroyed too.
    /// </summary>
    /// <param name="expectLabState">The old lab's state, when the test knows it (null: any; its host may or may not hold it).</param>
    public async Task AssertIntactAsync(LtbServer server, string? expectLabState)
    {
        var ct = TestContext.Current.CancellationToken;
        var address = new Uri(server.Urls[0]);
        using var anonymous = new LtbApiClient(address, null);
        var adminSession = await anonymous.SignInAsync("admin", AdminPassword, ct);
        var session = await anonymous.SignInAsync(User, UserPassword, ct);
        using var user = new LtbApiClient(address, session.Token);

        var lab = Assert.Single((await user.ListLabsAsync(ct)).Items, l => l.Name == Lab);
        Assert.Equal(User, lab.Owner);
        if (expectLabState is not null)
        {
            Assert.Equal(expectLabState, lab.State);
        }
        var template = Assert.Single((await user.ListTemplatesAsync($"name={Template}", ct)).Items);
        Assert.Equal("admin", template.Owner);

        using var http = new HttpClient { BaseAddress = address };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", session.Token);
        var form = new MultipartFormDataContent { { new StringContent(template.Id.ToString()), "template" }, { new StringContent(Lab + "-new"), "name" } };
        await using (var fresh = await ServerLab.RunAsync(http, form))
        {
            var motd = await user.ExecInNodeAsync(fresh.Name, new ExecRequest("a", ["cat", "/etc/motd-lab"]), ct);
            Assert.Equal((0L, Motd + "\n"), (motd.ExitCode, motd.Stdout));
            await fresh.DestroyAsync();
            await fresh.AssertNoLeftoversAsync();
        }
        var destroyed = await user.DestroyLabAsync(Lab, ct);
        Assert.Equal("succeeded", (await LabTestSupport.WaitAsync(http, destroyed.Task.Id)).State);
        _ = adminSession;
    }

    public static void Extract(string archive, string into)
    {
        using var file = File.OpenRead(archive);
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        TarFile.ExtractToDirectory(gzip, into, overwriteFiles: true);
    }

    /// <summary>Runs a plain SQL dump (pg_dump's output, with COPY blocks) into the database with psql.</summary>
    public static async Task PsqlAsync(TestDatabase database, string sqlFile)
    {
        var cs = new NpgsqlConnectionStringBuilder(database.ConnectionString);
        var start = new ProcessStartInfo("psql") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[] { "-h", cs.Host!, "-p", cs.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-U", cs.Username!,
                     "-d", cs.Database!, "-v", "ON_ERROR_STOP=1", "-q", "-f", sqlFile })
        {
            start.ArgumentList.Add(a);
        }
        start.Environment["PGPASSWORD"] = cs.Password;
        using var psql = Process.Start(start)!;
        var stderr = psql.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        _ = await psql.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        await psql.WaitForExitAsync(TestContext.Current.CancellationToken);
        Assert.True(psql.ExitCode == 0, $"psql -f {sqlFile}: {await stderr}");
    }

    public static async Task<TestDatabase> DatabaseAsync(DatabaseProvider provider)
    {
        if (provider == DatabaseProvider.Sqlite)
        {
            return new SqliteTestDatabase();
        }
        var (db, unavailable) = await PostgresTestDatabase.CreateAsync();
        Ltb.Testing.Prerequisite.Require(db is not null, unavailable ?? "");
        return db!;
    }
}
