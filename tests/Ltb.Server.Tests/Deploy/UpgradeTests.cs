using Ltb.Server.Data;
using Ltb.Server.Tests.Labs;
using Ltb.Testing;

namespace Ltb.Server.Tests.Deploy;

/// <summary>
/// Issue #19, "Upgrade test": the data folder and database the release before this one made (Fixtures/upgrade, made by
/// that release's own `ltb serve`: scripts/make-upgrade-fixture.sh) open with this build on SQLite and PostgreSQL; the
/// start migrates them, and the users (their old passwords), the template (its files) and the lab are all there.
/// </summary>
public sealed class UpgradeTests
{
    private static readonly string Folder = Path.Combine(Repo.Root, "tests", "Ltb.Server.Tests", "Fixtures", "upgrade");

    [Fact]
    public Task Sqlite_data_of_the_previous_release_opens_with_users_templates_and_labs() => UpgradeAsync(DatabaseProvider.Sqlite);

    [Fact]
    public Task Postgres_data_of_the_previous_release_opens_with_users_templates_and_labs() => UpgradeAsync(DatabaseProvider.Postgres);

    private static async Task UpgradeAsync(DatabaseProvider provider)
    {
        LabTestSupport.RequireDocker();
        var release = File.ReadAllLines(Path.Combine(Folder, "release.txt")).Select(l => l.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
        await using var database = await PlatformContent.DatabaseAsync(provider);
        if (provider == DatabaseProvider.Sqlite)
        {
            PlatformContent.Extract(Path.Combine(Folder, "sqlite.tar.gz"), database.DataDirectory);
        }
        else
        {
            var unpacked = Directory.CreateTempSubdirectory("ltb-upgrade-pg-").FullName;
            try
            {
                PlatformContent.Extract(Path.Combine(Folder, "postgres.tar.gz"), unpacked);
                await PlatformContent.PsqlAsync(database, Path.Combine(unpacked, "database.sql"));
                foreach (var entry in Directory.EnumerateFileSystemEntries(Path.Combine(unpacked, "data")))
                {
                    Directory.Move(entry, Path.Combine(database.DataDirectory, Path.GetFileName(entry)));
                }
            }
            finally
            {
                Directory.Delete(unpacked, recursive: true);
            }
        }
        Assert.True(Directory.Exists(Path.Combine(database.DataDirectory, "labs")), "the fixture holds the release's lab files");

        await using var server = await PlatformContent.StartAsync(database);
        // The release's lab ran on the machine that made the fixture; its containers are not here, and it is destroyed
        // like any lab whose host lost it.
        await new PlatformContent(release["admin_password"], release["user"], release["user_password"], release["template"], release["lab"],
            release["motd"]).AssertIntactAsync(server, expectLabState: null);
    }
}
