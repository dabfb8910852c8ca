using Ltb.Server.Api;
using Ltb.Server.Auth;
using Ltb.Server.Data;
using Ltb.Server.Labs;

namespace Ltb.Server.Snapshots;

/// <summary>
/// A snapshot the caller may read, written out as a deployment's (or a template version's) files: what restoring and
/// publishing as a template share. 404 for a snapshot the caller may not read, 409 while it is still being taken.
/// </summary>
public sealed class SnapshotSource(LtbDbContext db, IResourceAuthorizer<StoredSnapshot> authz, SnapshotStore store)
{
    /// <summary>Writes it into <paramref name="target"/>; answers the snapshot and its topology's file name, or the refusal.</summary>
    public async Task<(StoredSnapshot? Snapshot, string? FileName, ProblemHttpResult? Refused)> WriteForDeploymentAsync(string reference,
        Caller caller, string target, CancellationToken ct)
    {
        var access = await authz.FindAsync(db, caller, reference, Operation.Read, ct);
        if (access.Denied is { } denied)
        {
            return (null, null, denied);
        }
        var snapshot = access.Resource!;
        if (snapshot.State != SnapshotState.Ready)
        {
            return (null, null, Problems.Conflict($"snapshot '{snapshot.Name}' is still being taken; use it once its task has ended"));
        }
        return (snapshot, store.WriteForDeployment(snapshot.Id, target), null);
    }

    /// <summary>As <see cref="WriteForDeploymentAsync"/>, for a template version: its files go into the database, so at most the files a lab may upload.</summary>
    public async Task<(string? FileName, ProblemHttpResult? Refused)> WriteAsync(string reference, Caller caller, string target, CancellationToken ct)
    {
        var (snapshot, fileName, refused) = await WriteForDeploymentAsync(reference, caller, target, ct);
        if (refused is not null)
        {
            return (null, refused);
        }
        var size = SnapshotStore.SizeOf(target);
        return size > LabSources.MaxTotalBytes
            ? (null, Problems.Conflict($"snapshot '{snapshot!.Name}' takes {size >> 20} MiB; a template holds at most {LabSources.MaxTotalBytes >> 20} MiB of files"))
            : (fileName, null);
    }
}
