using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;
using System.Text.Json;
using Ltb.Server.Data;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Ltb.Server.Hosting;

/// <summary>
/// `ltb admin backup FILE` and `ltb admin restore FILE`: one gzipped tar with the database, the server's whole data folder
/// (uploaded lab files, template files, snapshots and whatever else features keep there, the SSH gateway's host keys)
/// and, when asked, a VM image library. The database is copied consistently while the server runs: SQLite by its online
/// backup API, PostgreSQL by `pg_dump` (custom format). It is copied first and the files after it, so a file the database
/// names is in the archive (a file uploaded during the backup may be there without its row: harmless). A restore puts
/// everything back into a stopped server: an empty (or, with force, replaced) data folder, and the database given by the
/// settings (`pg_restore --clean`). The archive's layout: <c>ltb-backup.json</c>, <c>database.sqlite</c> or
/// <c>database.pgdump</c>, <c>data/...</c>, <c>vm-images/...</c>.
/// </summary>
public static class ServerBackup
{
    public const string ManifestName = "ltb-backup.json";
    private const string SqliteEntry = "database.sqlite";
    private const string PostgresEntry = "database.pgdump";

    /// <summary>What the archive holds (its first entry).</summary>
    public sealed record Manifest(int Format, string Version, DatabaseProvider Database, DateTimeOffset CreatedAt, bool VmImages);

    public sealed record Summary(Manifest Manifest, int Files, long Bytes);

    public static async Task<Summary> BackupAsync(LtbServerOptions options, string archive, string? vmImages, CancellationToken ct)
    {
        if (!Directory.Exists(options.DataDirectory))
        {
            throw new InvalidOperationException($"the data folder {options.DataDirectory} does not exist; give the server's --data (or LTB_DATA)");
        }
        if (vmImages is not null && !Directory.Exists(vmImages))
        {
            throw new InvalidOperationException($"the VM image library {vmImages} does not exist (--vm-images)");
        }
        var staging = Directory.CreateTempSubdirectory("ltb-backup-");
        var partial = archive + ".partial";
        try
        {
            var dump = Path.Combine(staging.FullName, "database");
            var sqliteFile = options.Database == DatabaseProvider.Sqlite ? SqliteFile(options) : null;
            if (sqliteFile is not null)
            {
                BackupSqlite(sqliteFile, dump);
            }
            else
            {
                await PostgresToolAsync("pg_dump", options, ["--format=custom", "--no-owner", "--no-privileges", "--file", dump], ct);
            }
            var manifest = new Manifest(1, AgentVersions.Controller.ToString(3), options.Database, DateTimeOffset.UtcNow, vmImages is not null);
            var files = 0;
            // Only the owner may read it: it holds password hashes and the SSH gateway's host keys.
            await using (var file = new FileStream(partial, new FileStreamOptions
                         {
                             Mode = FileMode.Create, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
                         }))
            await using (var gzip = new GZipStream(file, CompressionLevel.Fastest))
            await using (var tar = new TarWriter(gzip, TarEntryFormat.Pax))
            {
                var json = Path.Combine(staging.FullName, ManifestName);
                await File.WriteAllTextAsync(json, JsonSerializer.Serialize(manifest, JsonSerializerOptions.Web), ct);
                await tar.WriteEntryAsync(json, ManifestName, ct);
                await tar.WriteEntryAsync(dump, sqliteFile is not null ? SqliteEntry : PostgresEntry, ct);
                // The SQLite file and its journal are in the archive as the consistent copy above, not as they are on disk.
                var skip = sqliteFile is null ? Array.Empty<string>() : new[] { sqliteFile, sqliteFile + "-wal", sqliteFile + "-shm", sqliteFile + "-journal" };
                files += await AddFolderAsync(tar, options.DataDirectory, "data", skip, ct);
                if (vmImages is not null)
                {
                    files += await AddFolderAsync(tar, vmImages, "vm-images", [], ct);
                }
            }
            File.Move(partial, archive, overwrite: true);
            return new Summary(manifest, files, new FileInfo(archive).Length);
        }
        finally
        {
            File.Delete(partial);
            staging.Delete(recursive: true);
        }
    }

    /// <summary>
    /// Puts a backup back: the data folder must be empty or missing (or <paramref name="force"/>: its content is replaced),
    /// the server stopped. A PostgreSQL database is restored into the one the settings name (it must exist; what it holds
    /// is replaced); the backup's database must be of the same kind as the settings'.
    /// </summary>
    public static async Task<Manifest> RestoreAsync(LtbServerOptions options, string archive, string? vmImages, bool force, CancellationToken ct)
    {
        if (!File.Exists(archive))
        {
            throw new InvalidOperationException($"there is no backup {archive}");
        }
        var staging = Directory.CreateTempSubdirectory("ltb-restore-");
        try
        {
            await using (var file = File.OpenRead(archive))
            await using (var gzip = new GZipStream(file, CompressionMode.Decompress))
            {
                // Entries are extracted under the staging folder only (.NET refuses names that leave it).
                await TarFile.ExtractToDirectoryAsync(gzip, staging.FullName, overwriteFiles: false, ct);
            }
            var manifestFile = Path.Combine(staging.FullName, ManifestName);
            var manifest = File.Exists(manifestFile)
                ? JsonSerializer.Deserialize<Manifest>(await File.ReadAllTextAsync(manifestFile, ct), JsonSerializerOptions.Web)
                : null;
            if (manifest is null)
            {
                throw new InvalidOperationException($"{archive} is not an LTB backup (no {ManifestName} in it)");
            }
            if (manifest.Database != options.Database)
            {
                throw new InvalidOperationException($"{archive} holds a {Name(manifest.Database)} database and the settings name a " +
                    $"{Name(options.Database)} one; restore it with --database {Name(manifest.Database)}");
            }
            PrepareTarget(options.DataDirectory, "data folder", "--data", force);
            if (vmImages is not null && manifest.VmImages)
            {
                PrepareTarget(vmImages, "VM image library", "--vm-images", force);
            }
            MoveContent(Path.Combine(staging.FullName, "data"), options.DataDirectory);
            if (options.Database == DatabaseProvider.Sqlite)
            {
                var target = SqliteFile(options);
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                foreach (var stale in new[] { target, target + "-wal", target + "-shm", target + "-journal" })
                {
                    File.Delete(stale);
                }
                File.Move(Path.Combine(staging.FullName, SqliteEntry), target);
            }
            else
            {
                await PostgresToolAsync("pg_restore", options,
                    ["--clean", "--if-exists", "--no-owner", "--no-privileges", "--exit-on-error", Path.Combine(staging.FullName, PostgresEntry)], ct);
            }
            if (vmImages is not null && manifest.VmImages)
            {
                MoveContent(Path.Combine(staging.FullName, "vm-images"), vmImages);
            }
            return manifest;
        }
        finally
        {
            staging.Delete(recursive: true);
        }
    }

    private static string Name(DatabaseProvider p) => p.ToString().ToLowerInvariant();

    private static string SqliteFile(LtbServerOptions options) =>
        Path.GetFullPath(new SqliteConnectionStringBuilder(options.ResolveConnectionString()).DataSource);

    /// <summary>A consistent copy of a live SQLite database (the online backup API: pages copied under a read transaction).</summary>
    private static void BackupSqlite(string database, string copy)
    {
        if (!File.Exists(database))
        {
            throw new InvalidOperationException($"there is no LTB database {database}; give the server's --data (or LTB_DATA)");
        }
        using var source = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = database, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        using var target = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = copy, Pooling = false }.ToString());
        source.Open();
        target.Open();
        source.BackupDatabase(target);
    }

    private static async Task<int> AddFolderAsync(TarWriter tar, string folder, string prefix, string[] skip, CancellationToken ct)
    {
        var files = 0;
        var root = Path.GetFullPath(folder);
        foreach (var path in Directory.EnumerateFileSystemEntries(root, "*", new EnumerationOptions
                 { RecurseSubdirectories = true, AttributesToSkip = 0, IgnoreInaccessible = false }).Order(StringComparer.Ordinal))
        {
            if (skip.Contains(path, StringComparer.Ordinal))
            {
                continue;
            }
            // Directories, files and symbolic links (as links), with their modes and owners.
            await tar.WriteEntryAsync(path, prefix + "/" + Path.GetRelativePath(root, path).Replace('\\', '/'), ct);
            files += File.Exists(path) ? 1 : 0;
        }
        return files;
    }

    private static void PrepareTarget(string folder, string what, string option, bool force)
    {
        if (Directory.Exists(folder) && Directory.EnumerateFileSystemEntries(folder).Any())
        {
            if (!force)
            {
                throw new InvalidOperationException($"the {what} {folder} is not empty: restore into an empty folder (stop the server, " +
                    $"move it away) or give --force to replace its content ({option})");
            }
            foreach (var entry in Directory.EnumerateFileSystemEntries(folder))
            {
                if (Directory.Exists(entry) && (File.GetAttributes(entry) & FileAttributes.ReparsePoint) == 0)
                {
                    Directory.Delete(entry, recursive: true);
                }
                else
                {
                    File.Delete(entry);
                }
            }
        }
        Directory.CreateDirectory(folder);
    }

    private static void MoveContent(string from, string to)
    {
        if (!Directory.Exists(from))
        {
            return;
        }
        foreach (var entry in Directory.EnumerateFileSystemEntries(from))
        {
            var target = Path.Combine(to, Path.GetFileName(entry));
            if (Directory.Exists(entry) && (File.GetAttributes(entry) & FileAttributes.ReparsePoint) == 0)
            {
                Directory.Move(entry, target);
            }
            else
            {
                File.Move(entry, target);
            }
        }
    }

    /// <summary>Runs pg_dump or pg_restore on the settings' database: no shell, the password in PGPASSWORD (not on the command line).</summary>
    private static async Task PostgresToolAsync(string tool, LtbServerOptions options, string[] arguments, CancellationToken ct)
    {
        var cs = new NpgsqlConnectionStringBuilder(options.ResolveConnectionString());
        var start = new ProcessStartInfo(tool) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        start.ArgumentList.Add("--host=" + (cs.Host ?? "localhost"));
        start.ArgumentList.Add("--port=" + cs.Port);
        start.ArgumentList.Add("--username=" + (cs.Username ?? Environment.UserName));
        start.ArgumentList.Add("--dbname=" + (cs.Database ?? cs.Username));
        start.ArgumentList.Add("--no-password");
        foreach (var a in arguments)
        {
            start.ArgumentList.Add(a);
        }
        if (cs.Password is { } password)
        {
            start.Environment["PGPASSWORD"] = password;
        }
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"{tool} could not be started ({e.Message}): install PostgreSQL's client programs " +
                "(Debian: apt-get install postgresql-client) of the server's major version or newer");
        }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync(ct);
            var stderr = process.StandardError.ReadToEndAsync(ct);
            await process.WaitForExitAsync(ct);
            var errors = (await stderr).Trim();
            _ = await stdout;
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"{tool} failed (exit code {process.ExitCode}): {Bounded(errors)}");
            }
        }
    }

    private static string Bounded(string text) => text.Length <= 2000 ? text : text[..2000] + "...";
}
