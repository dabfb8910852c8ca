using Ltb.Runtime.Plan;
using Ltb.Runtime.Planning;
using Ltb.Server.Api;
using Ltb.Server.Catalog;
using Ltb.Server.Data;
using Ltb.Server.Hosting;
using Ltb.Server.Labs;
using Ltb.Server.Labs.Tasks;
using Ltb.Topology.Catalog;
using Microsoft.EntityFrameworkCore;

namespace Ltb.Server.Snapshots;

/// <summary>A snapshot asked for: its row (state creating) and the task that takes it, added to the context, not saved.</summary>
public sealed record SnapshotRequested(StoredSnapshot Snapshot, LabTask Task);

/// <summary>
/// The one place a snapshot of a running lab is asked for (<c>POST /labs/{lab}/snapshots</c>, and the scheduler before a
/// reservation's labs are removed): the checks (the lab runs, the name is free in the lab, the owner's quota has room,
/// it has a successful deployment), the snapshot's row and its task with what to save of each node. The caller saves the
/// context and enqueues the task.
/// </summary>
public sealed class SnapshotRequests(LtbDbContext db, NodeTypeStore nodeTypes, LtbServerOptions options)
{
    /// <summary>The snapshot and its task, or why not (a conflict the caller reports as it must).</summary>
    public async Task<(SnapshotRequested? Requested, string? Conflict)> AddAsync(Lab lab, string name, Guid ownerId, string requestedBy,
        DateTimeOffset now, CancellationToken ct, bool memory = false)
    {
        if (lab.State != LabLifecycle.Running)
        {
            return (null, $"lab '{lab.Name}' is {LabViews.State(lab.State)}; only a running lab can be snapshotted");
        }
        if (await db.Snapshots.AnyAsync(s => s.LabId == lab.Id && s.Name == name, ct))
        {
            return (null, $"lab '{lab.Name}' has a snapshot named '{name}' already; choose another name or delete it");
        }
        var used = await db.Snapshots.Where(s => s.OwnerId == ownerId).SumAsync(s => s.SizeBytes, ct);
        if (used >= options.SnapshotQuotaBytes)
        {
            return (null, $"the owner's snapshots take {used >> 20} MiB of their {options.SnapshotQuotaBytes >> 20} MiB snapshot quota; " +
                "delete some (ltb lab snapshot delete) first");
        }
        var plan = await LabsEndpoints.RunningPlanAsync(db, lab.Id, ct);
        if (plan is null)
        {
            return (null, $"lab '{lab.Name}' has no successful deployment to snapshot");
        }
        var catalog = await nodeTypes.CatalogAsync(ct);
        var filesRoot = LabFolders.FilesRoot(options.DataDirectory, lab.Id);
        var kinds = LabViews.Kinds(lab);
        var nodes = plan.Nodes.Select(n => NodeInput(n, kinds.GetValueOrDefault(n.Name) ?? "linux", catalog, filesRoot, memory)).ToList();
        var snapshot = new StoredSnapshot
        {
            Id = Guid.NewGuid(), Name = name, OwnerId = ownerId, GroupId = lab.GroupId, LabId = lab.Id, LabName = lab.Name,
            SourceFileName = lab.SourceFileName, State = SnapshotState.Creating, NodeCount = nodes.Count, CreatedAt = now,
        };
        var input = new SnapshotInput(snapshot.Id, name, snapshot.SourceFileName, SourceFolder(filesRoot, snapshot.SourceFileName), nodes,
            options.SnapshotQuotaBytes - used);
        var task = LabReconciler.NewTask(lab, LabTaskKind.Snapshot, LabTaskInput.Write(input), now);
        snapshot.TaskId = task.Id;
        db.Snapshots.Add(snapshot);
        db.LabTasks.Add(task);
        db.LabEvents.Add(new LabEvent { LabId = lab.Id, At = now, Level = LabEventLevel.Info, Message = $"snapshot '{name}' requested by {requestedBy}" });
        return (new SnapshotRequested(snapshot, task), null);
    }

    /// <summary>
    /// What to save of one node: its device type's save-config and running-config (split into words here: the host runs
    /// argument vectors), where its configuration lives, and the lab files it binds writable (or as its configuration);
    /// a VM node's RAM state when the snapshot is taken with memory.
    /// </summary>
    private static SnapshotNodeInput NodeInput(NodePlan node, string kind, NodeTypeCatalog catalog, string filesRoot, bool memory)
    {
        var type = NodeInfo.DeviceType(catalog, kind, node.Image);
        if (node.Runtime == NodeRuntime.Vm)
        {
            // A VM's configuration and files are on its disk, which its snapshot saves whole: only save-config runs first.
            return new SnapshotNodeInput(node.Name, kind, node.Image, Words(type?.SaveConfigCommand), null, null, [], memory);
        }
        var configPath = type?.RunningConfigCommand is null ? null : type.Config.Path;
        var binds = node.Binds
            .Where(b => b.LabFile && (b.ContainerPath == configPath || !b.Mode.Split(',').Contains("ro")))
            .Select(b => Agent.Remote.FileTree.TopFolder(b.HostPath, filesRoot) is { } top
                ? new SnapshotBind(b.ContainerPath, Path.GetRelativePath(Path.Combine(filesRoot, top), b.HostPath).Replace(Path.DirectorySeparatorChar, '/'))
                : null)
            .OfType<SnapshotBind>().ToList();
        return new SnapshotNodeInput(node.Name, kind, node.Image, Words(type?.SaveConfigCommand), Words(type?.RunningConfigCommand), configPath, binds);
    }

    private static List<string>? Words(string? command) =>
        command is null ? null : ShellWords.Split(command, out var error) is { Count: > 0 } words && error is null ? [.. words] : null;

    /// <summary>The lab's newest deployment folder that holds its topology (the files it was deployed from).</summary>
    private static string? SourceFolder(string filesRoot, string fileName) => !Directory.Exists(filesRoot) ? null
        : new DirectoryInfo(filesRoot).EnumerateDirectories()
            .Where(d => d.LinkTarget is null && File.Exists(Path.Combine(d.FullName, fileName)))
            .OrderByDescending(d => d.CreationTimeUtc).FirstOrDefault()?.FullName;
}
