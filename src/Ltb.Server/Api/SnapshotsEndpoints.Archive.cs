using System.Text.Json;
using Ltb.Agent.Remote;
using Ltb.Server.Audit;
using Ltb.Server.Auth;
using Ltb.Server.Data;
using Ltb.Server.Hosting;
using Ltb.Server.Labs;
using Ltb.Server.Snapshots;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace Ltb.Server.Api;

/// <summary>
/// Export and import (issue #15; format: docs/snapshot-format.md, <see cref="SnapshotArchive"/>):
/// <c>GET /snapshots/{snapshot}/export</c> streams a snapshot the caller may read as one archive;
/// <c>POST /snapshots/import</c> takes an archive as the request body (streamed, never buffered whole, at most what is left
/// of the caller's snapshot quota) and makes it a snapshot of the caller's, restorable like any other.
/// </summary>
public static partial class SnapshotsEndpoints
{
    private static void MapArchiveEndpoints(RouteGroupBuilder api)
    {
        api.MapGet("/snapshots/{snapshot}/export", ExportAsync).WithName("ExportSnapshot").WithTags("Snapshots")
            .Produces<Stream>(StatusCodes.Status200OK, SnapshotArchive.MediaType)
            .WithSummary("Download a snapshot as one archive file (docs/snapshot-format.md) to import into another LTB");
        api.MapPost("/snapshots/import", ImportAsync).WithName("ImportSnapshot").WithTags("Snapshots").DisableAntiforgery()
            .Accepts<Stream>(SnapshotArchive.MediaType, "application/octet-stream")
            .WithSummary("Import a snapshot archive streamed as the body (counts toward your snapshot quota; name in the query renames it); answers 201 with the snapshot");
    }

    private static Results<PushStreamHttpResult, ProblemHttpResult> ExportAsync([For(Operation.Read)] Authorized<StoredSnapshot> authorized,
        HttpContext http, SnapshotStore store, AuditLog audit)
    {
        var snapshot = authorized.Value;
        if (snapshot.State != SnapshotState.Ready)
        {
            return Problems.Conflict($"snapshot '{snapshot.Name}' is still being taken; export it once its task has ended");
        }
        var manifest = store.ReadManifest(snapshot.Id);
        audit.Record("snapshot.export", What, snapshot.Id, $"{snapshot.LabName}: {snapshot.Name}");
        return TypedResults.Stream(stream => SnapshotArchive.WriteAsync(store.Folder(snapshot.Id), manifest, stream, http.RequestAborted),
            SnapshotArchive.MediaType, $"{snapshot.LabName}-{snapshot.Name}{SnapshotArchive.Extension}");
    }

    [Requires<StoredSnapshot>(Operation.Create)]
    private static async Task<Results<Created<SnapshotDto>, ProblemHttpResult, ValidationProblem>> ImportAsync(HttpContext http, [FromQuery] string? name,
        Caller caller, LtbDbContext db, SnapshotStore store, LtbServerOptions options, AuditLog audit, CancellationToken ct)
    {
        if (name is not null && !LabNames.Valid().IsMatch(name))
        {
            return Problems.Invalid("name", $"renames the imported snapshot: {LabNames.Rule}");
        }
        var used = await db.Snapshots.Where(s => s.OwnerId == caller.UserId).SumAsync(s => s.SizeBytes, ct);
        var left = options.SnapshotQuotaBytes - used;
        if (http.Request.ContentLength > left || left <= 0)
        {
            return Problems.TooLarge($"the archive has {http.Request.ContentLength ?? 0} bytes; {Math.Max(0, left) >> 20} MiB are left of your {options.SnapshotQuotaBytes >> 20} MiB snapshot quota: delete snapshots (ltb lab snapshot delete) first");
        }
        // Kestrel's default body limit (30 MB) is for everything else; the archive reader counts the bytes itself and stops
        // at the quota left, before Kestrel's limit (set a little above, as a backstop) is reached.
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = left + (1 << 20);
        }
        var id = Guid.NewGuid();
        var staging = store.Staging(id);
        FileTree.Delete(staging);
        Directory.CreateDirectory(staging);
        try
        {
            await SnapshotArchive.ReadAsync(http.Request.Body, staging, left, ct);
            var inner = ReadImportedManifest(staging);
            var snapshot = ImportedSnapshot(id, name ?? inner.Name, caller, inner, SnapshotStore.SizeOf(staging));
            Directory.Move(staging, store.Folder(id));
            db.Snapshots.Add(snapshot);
            audit.Record("snapshot.import", What, id, $"{snapshot.LabName}: {snapshot.Name}");
            try
            {
                await db.SaveChangesAsync(ct);
            }
            catch
            {
                store.Delete(id);
                throw;
            }
            return TypedResults.Created($"/api/v1/snapshots/{id}", ToDto(snapshot, caller.UserName));
        }
        catch (SnapshotArchiveException e)
        {
            FileTree.Delete(staging);
            return Problems.BadRequest($"snapshot archive refused: {e.Message}");
        }
        catch (SnapshotArchiveTooLargeException e)
        {
            FileTree.Delete(staging);
            return Problems.TooLarge(e.Message);
        }
        catch
        {
            FileTree.Delete(staging);
            throw;
        }
    }

    /// <summary>The imported folder's own snapshot.json, checked: a format this LTB reads, valid names, its topology present.</summary>
    private static SnapshotManifest ReadImportedManifest(string folder)
    {
        SnapshotManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<SnapshotManifest>(File.ReadAllText(Path.Combine(folder, SnapshotStore.ManifestFile)), SnapshotStore.Json);
        }
        catch (JsonException e)
        {
            throw new SnapshotArchiveException($"member '{SnapshotStore.ManifestFile}' is not a snapshot's manifest: {e.Message}");
        }
        if (manifest is null || manifest.Format > SnapshotStore.Format)
        {
            throw new SnapshotArchiveException($"member '{SnapshotStore.ManifestFile}' is snapshot folder format {manifest?.Format}; this LTB reads format {SnapshotStore.Format} at most");
        }
        if (!LabNames.Valid().IsMatch(manifest.Name ?? "") || !LabNames.Valid().IsMatch(manifest.LabName ?? "")
            || LabSources.CheckPath(manifest.SourceFileName ?? "") is not null
            || !File.Exists(Path.Combine(folder, SnapshotStore.FilesFolder, manifest.SourceFileName!)))
        {
            throw new SnapshotArchiveException($"member '{SnapshotStore.ManifestFile}' names no valid snapshot, lab or topology file (files/{manifest.SourceFileName})");
        }
        return manifest;
    }

    /// <summary>
    /// The imported snapshot's row: the importer's, of no group, ready, of a lab that never ran here (a new lab id, so that
    /// its name never clashes with a lab's snapshots); restoring it deploys a new lab like any snapshot.
    /// </summary>
    private static StoredSnapshot ImportedSnapshot(Guid id, string name, Caller caller, SnapshotManifest manifest, long size) => new()
    {
        Id = id, Name = name, OwnerId = caller.UserId, GroupId = null, LabId = Guid.NewGuid(), LabName = manifest.LabName,
        SourceFileName = manifest.SourceFileName, State = SnapshotState.Ready, SizeBytes = size, NodeCount = manifest.Nodes.Count,
        CreatedAt = DateTimeOffset.UtcNow,
    };
}
