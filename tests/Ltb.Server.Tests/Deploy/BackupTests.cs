using Ltb.Server.Data;
using Ltb.Server.Hosting;
using Ltb.Server.Tests.Cli;
using Ltb.Server.Tests.Infrastructure;
using Ltb.Server.Tests.Labs;
using Ltb.Server.Tests.Templates;
using Ltb.Testing;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Ltb.Server.Tests.Deploy;

/// <summary>
/// Issue #19, "Backup test": `ltb admin backup` of a running platform (a user, a template with a file, a running lab, and
/// files under the data folder such as snapshots), the platform wiped (data folder emptied, database emptied), `ltb admin
/// restore`, and a start: the user signs in with the same password, the template deploys with its file, the lab is
/// there and still running (its containers outlived the controller), and the files are back byte for byte.
/// </summary>
public sealed class BackupTests
{
    private const string AdminPassword = "Backup-Admin-Passw0rd-1";
    private const string UserPassword = "Backup-Student-Passw0rd-1";

    [Fact]
    public Task Sqlite_platform_backed_up_while_running_wiped_and_restored_has_everything_back() => RoundTripAsync(DatabaseProvider.Sqlite);

    [Fact]
    public Task Postgres_platform_backed_up_while_running_wiped_and_restored_has_everything_back() => RoundTripAsync(DatabaseProvider.Postgres);

    [Fact]
    public async Task Restore_refuses_a_data_folder_that_is_not_empty_and_an_archive_that_is_no_backup()
    {
        var data = Directory.CreateTempSubdirectory("ltb-restore-full-").FullName;
        var archive = Path.Combine(data, "not-a-backup.tar.gz");
        try
        {
            await File.WriteAllTextAsync(Path.Combine(data, "keep.txt"), "mine", TestContext.Current.CancellationToken);
            PlatformContentArchive.Write(archive, ("hello.txt", "not LTB"));
            var refused = await LtbAsync("admin", "restore", archive, "--data", data);
            Assert.Equal(1, refused.ExitCode);
            Assert.Contains($"{archive} is not an LTB backup (no ltb-backup.json in it)", refused.Stderr);
            Assert.Equal("mine", await File.ReadAllTextAsync(Path.Combine(data, "keep.txt"), TestContext.Current.CancellationToken));
            var missing = await LtbAsync("admin", "backup", Path.Combine(data, "b.tar.gz"), "--data", Path.Combine(data, "nowhere"));
            Assert.Equal(1, missing.ExitCode);
            Assert.Contains("the data folder", missing.Stderr);
            Assert.Contains("does not exist", missing.Stderr);
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    private static async Task RoundTripAsync(DatabaseProvider provider)
    {
        LabTestSupport.RequireDocker();
        var ct = TestContext.Current.CancellationToken;
        await using var database = await PlatformContent.DatabaseAsync(provider);
        var archive = Path.Combine(Path.GetTempPath(), $"ltb-backup-test-{Guid.NewGuid():N}.tar.gz");
        var content = new PlatformContent(AdminPassword, ServerFixture.Unique("bk"), UserPassword, ServerFixture.Unique("bkt"), "kept-lab",
            "backed up " + Guid.NewGuid().ToString("N")[..8]);
        var snapshot = Path.Combine(database.DataDirectory, "snapshots", "kept-lab", "node-a.tar");
        try
        {
            await using (var server = await PlatformContent.StartAsync(database, AdminPassword))
            {
                await SeedAsync(server, content);
                Directory.CreateDirectory(Path.GetDirectoryName(snapshot)!);
                await File.WriteAllBytesAsync(snapshot, Enumerable.Range(0, 70_000).Select(i => (byte)i).ToArray(), ct);
                var backup = await LtbAsync(["admin", "backup", archive, .. StoreArguments(database)]);
                Assert.True(backup.ExitCode == 0, backup.Stderr + backup.Stdout);
                Assert.Contains($"backed up the {provider.ToString().ToLowerInvariant()} database and", backup.Stdout);
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(archive));
            }
            await WipeAsync(database);
            Assert.Empty(Directory.EnumerateFileSystemEntries(database.DataDirectory));

            var restore = await LtbAsync(["admin", "restore", archive, .. StoreArguments(database)]);
            Assert.True(restore.ExitCode == 0, restore.Stderr + restore.Stdout);
            Assert.Equal(Enumerable.Range(0, 70_000).Select(i => (byte)i).ToArray(), await File.ReadAllBytesAsync(snapshot, ct));
            await using (var restored = await PlatformContent.StartAsync(database))
            {
                await content.AssertIntactAsync(restored, expectLabState: "running");
            }
        }
        finally
        {
            File.Delete(archive);
        }
    }

    /// <summary>As a platform is filled: a user, a template of the admin's with a file, and the user's lab from it, running.</summary>
    private static async Task SeedAsync(LtbServer server, PlatformContent content)
    {
        var ct = TestContext.Current.CancellationToken;
        var address = new Uri(server.Urls[0]);
        using var anonymous = new LtbApiClient(address, null);
        using var admin = new LtbApiClient(address, (await anonymous.SignInAsync("admin", AdminPassword, ct)).Token);
        await admin.CreateUserAsync(new CreateUserRequest(content.User, UserPassword), ct);
        const string yaml = """
            name: backup-demo
            topology:
              nodes:
                a: {kind: linux, image: "ltb/tiny:latest", binds: ["files/motd:/etc/motd-lab"]}
            """;
        using var upload = TemplateTestSupport.Upload(yaml, name: content.Template, visibility: "everyone",
            files: new Dictionary<string, byte[]> { ["files/motd"] = System.Text.Encoding.UTF8.GetBytes(content.Motd + "\n") });
        var template = await admin.CreateTemplateAsync(upload, ct);
        using var http = new HttpClient { BaseAddress = address };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer",
            (await anonymous.SignInAsync(content.User, UserPassword, ct)).Token);
        var form = new MultipartFormDataContent { { new StringContent(template.Id.ToString()), "template" }, { new StringContent(content.Lab), "name" } };
        // Left running: the backup is of a platform in use (the test destroys it after the restore).
        var lab = await ServerLab.RunAsync(http, form);
        Assert.Equal(content.Lab, lab.Name);
    }

    /// <summary>The platform gone: the data folder emptied and the database emptied (SQLite's file is in the data folder).</summary>
    private static async Task WipeAsync(TestDatabase database)
    {
        SqliteConnection.ClearAllPools();
        NpgsqlConnection.ClearAllPools();
        foreach (var entry in Directory.EnumerateFileSystemEntries(database.DataDirectory))
        {
            if (Directory.Exists(entry))
            {
                Directory.Delete(entry, recursive: true);
            }
            else
            {
                File.Delete(entry);
            }
        }
        if (database.Provider == DatabaseProvider.Postgres)
        {
            await using var connection = new NpgsqlConnection(database.ConnectionString);
            await connection.OpenAsync();
            await using var drop = new NpgsqlCommand("DROP SCHEMA IF EXISTS hangfire CASCADE; DROP SCHEMA public CASCADE; CREATE SCHEMA public", connection);
            await drop.ExecuteNonQueryAsync();
        }
    }

    private static string[] StoreArguments(TestDatabase database) => database.Provider == DatabaseProvider.Sqlite
        ? ["--data", database.DataDirectory]
        : ["--data", database.DataDirectory, "--database", "postgres", "--connection-string", database.ConnectionString];

    private static Task<HostCommand.Result> LtbAsync(params string[] args) =>
        HostCommand.RunAsync(Path.Combine(Repo.Root, "ltb"), args, TimeSpan.FromMinutes(5),
            ServeProcess.HomeEnvironment(Directory.CreateTempSubdirectory("ltb-backup-home-").FullName));
}

/// <summary>A gzipped tar of a few text files (an archive that is not a backup).</summary>
internal static class PlatformContentArchive
{
    public static void Write(string path, params (string Name, string Text)[] files)
    {
        using var file = File.Create(path);
        using var gzip = new System.IO.Compression.GZipStream(file, System.IO.Compression.CompressionLevel.Fastest);
        using var tar = new System.Formats.Tar.TarWriter(gzip);
        foreach (var (name, text) in files)
        {
            tar.WriteEntry(new System.Formats.Tar.PaxTarEntry(System.Formats.Tar.TarEntryType.RegularFile, name)
            {
                DataStream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(text)),
            });
        }
    }
}
