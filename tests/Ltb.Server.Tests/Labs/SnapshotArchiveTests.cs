using System.Formats.Tar;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Ltb.Server.Hosting;
using Ltb.Server.Snapshots;
using Ltb.Server.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Ltb.Server.Tests.Labs;

/// <summary>A server whose snapshot quota is 1 MiB: an archive larger than what is left of it is refused whole.</summary>
public sealed class SmallSnapshotQuotaServer : SqliteServer
{
    public const long Quota = 1L << 20;

    protected override async Task ConfigureAsync(LtbServerOptions options)
    {
        await base.ConfigureAsync(options);
        options.SnapshotQuotaBytes = Quota;
    }
}

/// <summary>
/// Snapshot archives (docs/snapshot-format.md) without a lab engine: a stored snapshot exports and imports back whole; a
/// tampered archive (a changed byte, a missing or an extra member, a path leaving the store), one of a newer format, and
/// one larger than the importer's quota left are each refused with a message naming the member or the versions, and
/// nothing of them is left (no row, no folder, no staging).
/// </summary>
public sealed class SnapshotArchiveTests(SmallSnapshotQuotaServer server) : IClassFixture<SmallSnapshotQuotaServer>
{
    private string Store => Path.Combine(server.DataDirectory, "snapshots");

    [Fact]
    public async Task An_exported_snapshot_imports_back_whole_and_counts_toward_the_quota()
    {
        var (client, archive) = await ExportedSampleAsync("arch");
        var before = await Http.ReadAsync<SnapshotQuotaDto>(await client.GetAsync("/api/v1/snapshots/usage"), 200);
        var imported = await Http.ReadAsync<SnapshotDto>(await client.PostAsync("/api/v1/snapshots/import?name=again", Body(archive)), 201);
        Assert.Equal(("again", "ready", 2), (imported.Name, imported.State, imported.Nodes));
        var folder = Path.Combine(Store, imported.Id.ToString("N"));
        Assert.Equal(SnapshotSamples.Topology, await File.ReadAllTextAsync(Path.Combine(folder, "files", "lab.clab.yml")));
        Assert.Equal(SnapshotSamples.NodeArchive, await File.ReadAllBytesAsync(Path.Combine(folder, "nodes", "a.tar")));
        var usage = await Http.ReadAsync<SnapshotQuotaDto>(await client.GetAsync("/api/v1/snapshots/usage"), 200);
        Assert.Equal(before.UsedBytes + imported.SizeBytes, usage.UsedBytes);
        Assert.Equal(SnapshotStore.SizeOf(folder), imported.SizeBytes);
    }

    [Fact]
    public async Task A_tampered_archive_is_refused_naming_the_member_and_leaves_nothing()
    {
        var (client, archive) = await ExportedSampleAsync("tamp");
        var changed = Rewrite(archive, (name, data) => name == "nodes/a.tar" ? Flip(data) : data);
        await RefusedAsync(client, changed, HttpStatusCode.BadRequest, "'nodes/a.tar' does not match its SHA-256 checksum");
        var missing = Rewrite(archive, (name, data) => name == "status.json" ? null : data);
        await RefusedAsync(client, missing, HttpStatusCode.BadRequest, "'status.json' named in the archive's manifest is missing");
        var extra = Rewrite(archive, (_, data) => data, ("files/planted.sh", "echo hi"u8.ToArray()));
        await RefusedAsync(client, extra, HttpStatusCode.BadRequest, "'files/planted.sh' is not in the archive's manifest");
        var escaping = RewriteManifest(archive, m => m with { Members = [.. m.Members, new SnapshotArchiveMember("files/../../../etc/x", 1, new string('0', 64))] });
        await RefusedAsync(client, escaping, HttpStatusCode.BadRequest, "'files/../../../etc/x'");
        await RefusedAsync(client, "not a tar at all"u8.ToArray(), HttpStatusCode.BadRequest, "not a");
    }

    [Fact]
    public async Task An_archive_of_a_newer_format_is_refused_naming_both_versions()
    {
        var (client, archive) = await ExportedSampleAsync("newer");
        var newer = RewriteManifest(archive, m => m with { Format = SnapshotArchive.Format + 1 });
        var detail = await RefusedAsync(client, newer, HttpStatusCode.BadRequest, $"format {SnapshotArchive.Format + 1}");
        Assert.Contains($"reads format {SnapshotArchive.Format} at most", detail);
    }

    [Fact]
    public async Task An_archive_larger_than_the_quota_left_is_refused_whether_announced_or_streamed()
    {
        var user = await server.CreateUserAsync("arbig");
        using var client = await server.LoginAsync(user.UserName, ServerFixture.UserPassword);
        var big = new byte[SmallSnapshotQuotaServer.Quota + (64 << 10)];
        Random.Shared.NextBytes(big);
        var archive = await SnapshotSamples.ArchiveAsync(server, "big", ("files/blob.bin", big));
        await RefusedAsync(client, archive, HttpStatusCode.RequestEntityTooLarge, "MiB are left of your 1 MiB snapshot quota");
        // Without a length announced, the reader stops at the quota while the body streams in.
        var chunked = new StreamContent(new MemoryStream(archive));
        chunked.Headers.ContentType = new MediaTypeHeaderValue(SnapshotArchive.MediaType);
        var response = await client.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/api/v1/snapshots/import") { Content = chunked, Headers = { TransferEncodingChunked = true } });
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.RequestEntityTooLarge, text);
        Assert.Contains("larger than the 1 MiB you may import", text);
        Assert.Equal(0, (await Http.ReadAsync<SnapshotQuotaDto>(await client.GetAsync("/api/v1/snapshots/usage"), 200)).Count);
        Assert.Empty(Directory.Exists(Path.Combine(Store, ".staging")) ? Directory.GetFileSystemEntries(Path.Combine(Store, ".staging")) : []);
    }

    [Fact]
    public async Task Deleting_a_user_deletes_their_snapshots_folders_and_leaves_others()
    {
        var (client, archive) = await ExportedSampleAsync("gone");
        var imported = await Http.ReadAsync<SnapshotDto>(await client.PostAsync("/api/v1/snapshots/import", Body(archive)), 201);
        var theirs = (await Http.ReadAsync<Paged<SnapshotDto>>(await client.GetAsync("/api/v1/snapshots"), 200)).Items.Select(s => s.Id).ToList();
        Assert.Equal(2, theirs.Count);
        Assert.All(theirs, id => Assert.True(Directory.Exists(Path.Combine(Store, id.ToString("N")))));
        var other = await server.CreateUserAsync("keep");
        var kept = await SnapshotSamples.StoreAsync(server, other.Id, null);
        var me = await Http.ReadAsync<UserDto>(await client.GetAsync("/api/v1/me"), 200);

        Assert.Equal(HttpStatusCode.NoContent, (await server.Admin.DeleteAsync($"/api/v1/users/{me.Id}")).StatusCode);
        Assert.All(theirs, id => Assert.False(Directory.Exists(Path.Combine(Store, id.ToString("N"))), $"snapshot {id}'s folder outlived its owner"));
        Assert.Equal(HttpStatusCode.NotFound, (await server.Admin.GetAsync($"/api/v1/snapshots/{imported.Id}")).StatusCode);
        Assert.True(Directory.Exists(Path.Combine(Store, kept.ToString("N"))));
        Assert.Equal(HttpStatusCode.OK, (await server.Admin.GetAsync($"/api/v1/snapshots/{kept}")).StatusCode);
    }

    /// <summary>A fresh user with a stored sample snapshot, and its archive as the export endpoint streams it.</summary>
    private async Task<(HttpClient Client, byte[] Archive)> ExportedSampleAsync(string prefix)
    {
        var user = await server.CreateUserAsync(prefix);
        var client = await server.LoginAsync(user.UserName, ServerFixture.UserPassword);
        var id = await SnapshotSamples.StoreAsync(server, user.Id, null);
        var response = await client.GetAsync($"/api/v1/snapshots/{id}/export");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(SnapshotArchive.MediaType, response.Content.Headers.ContentType?.MediaType);
        return (client, await response.Content.ReadAsByteArrayAsync());
    }

    private async Task<string> RefusedAsync(HttpClient client, byte[] archive, HttpStatusCode status, string expected)
    {
        var before = Stored();
        var mine = (await Http.ReadAsync<SnapshotQuotaDto>(await client.GetAsync("/api/v1/snapshots/usage"), 200)).Count;
        var response = await client.PostAsync("/api/v1/snapshots/import", Body(archive));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"{response.StatusCode}: {text}");
        var detail = JsonDocument.Parse(text).RootElement.GetProperty("detail").GetString()!;
        Assert.Contains(expected, detail);
        Assert.Equal(before, Stored());
        Assert.Equal(mine, (await Http.ReadAsync<SnapshotQuotaDto>(await client.GetAsync("/api/v1/snapshots/usage"), 200)).Count);
        Assert.Empty(Directory.Exists(Path.Combine(Store, ".staging")) ? Directory.GetFileSystemEntries(Path.Combine(Store, ".staging")) : []);
        return detail;
    }

    /// <summary>The snapshots' folders in the store (not its staging folder).</summary>
    private string[] Stored() => Directory.Exists(Store) // none before the server's first snapshot
        ? [.. Directory.GetDirectories(Store).Select(Path.GetFileName).Where(d => !d!.StartsWith('.')).Order()!]
        : [];

    private static ByteArrayContent Body(byte[] archive)
    {
        var content = new ByteArrayContent(archive);
        content.Headers.ContentType = new MediaTypeHeaderValue(SnapshotArchive.MediaType);
        return content;
    }

    private static byte[] Flip(byte[] data)
    {
        var copy = (byte[])data.Clone();
        copy[copy.Length / 2] ^= 0x20;
        return copy;
    }

    /// <summary>The archive with each member's data changed (null: left out) and extra members appended, the manifest as it was.</summary>
    internal static byte[] Rewrite(byte[] archive, Func<string, byte[], byte[]?> change, params (string Name, byte[] Data)[] extra)
    {
        using var output = new MemoryStream();
        using (var reader = new TarReader(new MemoryStream(archive)))
        using (var writer = new TarWriter(output, TarEntryFormat.Pax, leaveOpen: true))
        {
            while (reader.GetNextEntry(copyData: true) is { } entry)
            {
                using var data = new MemoryStream();
                entry.DataStream?.CopyTo(data);
                if ((entry.Name == SnapshotArchive.ManifestEntry ? data.ToArray() : change(entry.Name, data.ToArray())) is { } kept)
                {
                    writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, entry.Name) { DataStream = new MemoryStream(kept) });
                }
            }
            foreach (var (name, data) in extra)
            {
                writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(data) });
            }
        }
        return output.ToArray();
    }

    private static byte[] RewriteManifest(byte[] archive, Func<SnapshotArchiveManifest, SnapshotArchiveManifest> change)
    {
        using var output = new MemoryStream();
        using (var reader = new TarReader(new MemoryStream(archive)))
        using (var writer = new TarWriter(output, TarEntryFormat.Pax, leaveOpen: true))
        {
            while (reader.GetNextEntry(copyData: true) is { } entry)
            {
                using var data = new MemoryStream();
                entry.DataStream?.CopyTo(data);
                var bytes = data.ToArray();
                if (entry.Name == SnapshotArchive.ManifestEntry)
                {
                    bytes = JsonSerializer.SerializeToUtf8Bytes(change(JsonSerializer.Deserialize<SnapshotArchiveManifest>(bytes, SnapshotStore.Json)!), SnapshotStore.Json);
                }
                writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, entry.Name) { DataStream = new MemoryStream(bytes) });
            }
        }
        return output.ToArray();
    }
}

/// <summary>A small stored snapshot (two nodes, a topology, a node archive) written as the snapshot task writes one.</summary>
internal static class SnapshotSamples
{
    public const string Topology = "name: sample\ntopology:\n  nodes:\n    a: {kind: linux, image: alpine:3.20}\n    b: {kind: linux, image: alpine:3.20}\n";
    public static readonly byte[] NodeArchive = NodeTar();

    /// <summary>Writes the sample's folder into the store and its row (ready, owned by <paramref name="owner"/>); answers its id.</summary>
    public static async Task<Guid> StoreAsync(ServerFixture server, Guid owner, Guid? lab, Guid? group = null,
        params (string Path, byte[] Data)[] extra)
    {
        var id = Guid.NewGuid();
        var folder = Path.Combine(server.DataDirectory, "snapshots", id.ToString("N"));
        Write(folder, extra);
        await using var scope = server.Server.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<Ltb.Server.Data.LtbDbContext>();
        db.Snapshots.Add(new Ltb.Server.Data.StoredSnapshot
        {
            Id = id, Name = ServerFixture.Unique("snap"), OwnerId = owner, GroupId = group, LabId = lab ?? Guid.NewGuid(), LabName = "sample",
            SourceFileName = "lab.clab.yml", State = Ltb.Server.Data.SnapshotState.Ready, SizeBytes = SnapshotStore.SizeOf(folder), NodeCount = 2,
            CreatedAt = DateTimeOffset.UtcNow,
        });
        await db.SaveChangesAsync();
        return id;
    }

    /// <summary>The archive of a sample with extra files, as the export endpoint writes it (without storing it).</summary>
    public static async Task<byte[]> ArchiveAsync(ServerFixture server, string name, params (string Path, byte[] Data)[] extra)
    {
        var folder = Path.Combine(server.DataDirectory, "archive-samples", ServerFixture.Unique(name));
        Write(folder, extra);
        using var output = new MemoryStream();
        await SnapshotArchive.WriteAsync(folder, Manifest(), output, CancellationToken.None);
        Directory.Delete(folder, recursive: true);
        return output.ToArray();
    }

    private static SnapshotManifest Manifest() => new(SnapshotStore.Format, "afternoon", "sample", "lab.clab.yml", DateTimeOffset.UtcNow,
        [new SnapshotNodeManifest("a", "linux", "alpine:3.20", true, ["/etc/motd"], [], "alpine@sha256:" + new string('1', 64)),
         new SnapshotNodeManifest("b", "linux", "alpine:3.20", false, [], [])]);

    private static void Write(string folder, (string Path, byte[] Data)[] extra)
    {
        Directory.CreateDirectory(Path.Combine(folder, SnapshotStore.FilesFolder));
        Directory.CreateDirectory(Path.Combine(folder, SnapshotStore.NodesFolder));
        File.WriteAllText(Path.Combine(folder, SnapshotStore.FilesFolder, "lab.clab.yml"), Topology);
        File.WriteAllBytes(Path.Combine(folder, SnapshotStore.NodesFolder, "a.tar"), NodeArchive);
        File.WriteAllText(Path.Combine(folder, SnapshotStore.StatusFile), "{\"nodes\":[],\"links\":[]}");
        File.WriteAllText(Path.Combine(folder, SnapshotStore.ManifestFile), JsonSerializer.Serialize(Manifest(), SnapshotStore.Json));
        foreach (var (path, data) in extra)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(folder, path))!);
            File.WriteAllBytes(Path.Combine(folder, path), data);
        }
    }

    private static byte[] NodeTar()
    {
        using var output = new MemoryStream();
        using (var writer = new TarWriter(output, TarEntryFormat.Pax, leaveOpen: true))
        {
            writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "root/proof.txt") { DataStream = new MemoryStream(Encoding.UTF8.GetBytes("saved")) });
        }
        return output.ToArray();
    }
}
