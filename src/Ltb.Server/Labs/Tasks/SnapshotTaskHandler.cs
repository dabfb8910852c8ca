using System.Text.Json;
using Ltb.Agent.Remote;
using Ltb.Runtime.Nodes;
using Ltb.Runtime.Status;
using Ltb.Server.Data;
using Ltb.Server.Snapshots;

namespace Ltb.Server.Labs.Tasks;

/// <summary>
/// One node's part of a snapshot, decided by the endpoint from the lab's plan and the node's type: the commands (argument
/// vectors), where its running configuration goes, the writable lab files it binds, and (a VM node) whether its RAM state is wanted.
/// </summary>
public sealed record SnapshotNodeInput(string Node, string Kind, string Image, IReadOnlyList<string>? SaveConfig,
    IReadOnlyList<string>? RunningConfig, string? ConfigPath, IReadOnlyList<SnapshotBind> Binds, bool Memory = false);

/// <summary>
/// A snapshot to take (its row exists, state creating): the lab's files as deployed (<paramref name="FilesFolder"/>, on
/// the controller), its nodes, and the most bytes it may take (what is left of its owner's quota).
/// </summary>
public sealed record SnapshotInput(Guid SnapshotId, string Name, string SourceFileName, string? FilesFolder,
    IReadOnlyList<SnapshotNodeInput> Nodes, long LimitBytes);

public sealed record SnapshotResult(long SizeBytes, int Nodes, IReadOnlyList<string> Warnings);

/// <summary>
/// Takes a snapshot of a running lab (issue #15) on its host(s): per node the agent's <c>SnapshotNodeAsync</c> (save-config,
/// then the node's changes against its image) streamed into the snapshot's staging folder and split there
/// (<see cref="NodeSnapshotSplitter"/>); then the lab's status; then the folder is renamed into the store whole.
/// Success: the snapshot is ready with its size. Failure: nothing of it is left (row and folder), the lab keeps running.
/// Retries: none (a second attempt would start over anyway; the user asks again).
/// </summary>
public sealed class SnapshotTaskHandler(LabJournal journal, LtbDbContext db, SnapshotStore store)
    : LabTaskHandler<SnapshotInput, SnapshotResult>
{
    public override LabTaskKind Kind => LabTaskKind.Snapshot;

    public override LabTaskRetry Retry => LabTaskRetry.Never;

    protected override async Task<SnapshotResult> RunAsync(SnapshotInput input, LabTaskRun run, CancellationToken ct)
    {
        var staging = store.Staging(input.SnapshotId);
        FileTree.Delete(staging);
        try
        {
            SnapshotStore.CopyTree(input.FilesFolder ?? "", Path.Combine(staging, SnapshotStore.FilesFolder));
            var nodes = new List<SnapshotNodeManifest>();
            var warnings = new List<string>();
            foreach (var node in input.Nodes)
            {
                Report(run, node.Node, $"saving {node.Node}");
                var left = input.LimitBytes - SnapshotStore.SizeOf(staging);
                if (left <= 0)
                {
                    throw new LabRuntimeException(run.LabName, node.Node, "the snapshot would exceed the owner's snapshot quota; delete snapshots to free space");
                }
                var parts = await SaveNodeAsync(node, staging, left, run, ct);
                warnings.AddRange(parts.Warnings.Select(w => $"{node.Node}: {w}"));
                nodes.Add(new SnapshotNodeManifest(node.Node, node.Kind, node.Image, parts.Archive, parts.Deleted, parts.Warnings,
                    parts.BaseDigest ?? await ImageDigestAsync(run, node.Node, ct)) { Memory = parts.Memory });
            }
            var status = await run.Agent.InspectAsync(run.RuntimeName, ct);
            await File.WriteAllTextAsync(Path.Combine(staging, SnapshotStore.StatusFile), JsonSerializer.Serialize(status, SnapshotStore.Json), ct);
            var manifest = new SnapshotManifest(SnapshotStore.Format, input.Name, run.LabName, input.SourceFileName, DateTimeOffset.UtcNow, nodes);
            await File.WriteAllTextAsync(Path.Combine(staging, SnapshotStore.ManifestFile), JsonSerializer.Serialize(manifest, SnapshotStore.Json), ct);
            var size = SnapshotStore.SizeOf(staging);
            if (size > input.LimitBytes)
            {
                throw new LabRuntimeException(run.LabName, null, $"the snapshot takes {size >> 20} MiB, more than the {input.LimitBytes >> 20} MiB left of the owner's snapshot quota; delete snapshots to free space");
            }
            Directory.CreateDirectory(store.Root);
            Directory.Move(staging, store.Folder(input.SnapshotId));
            return new SnapshotResult(size, nodes.Count, warnings);
        }
        catch
        {
            FileTree.Delete(staging);
            throw;
        }
    }

    /// <summary>One node's stream into a file of the staging folder (bounded by the request), then split into the snapshot's parts.</summary>
    private static async Task<NodeSnapshotParts> SaveNodeAsync(SnapshotNodeInput node, string staging, long limit, LabTaskRun run, CancellationToken ct)
    {
        var stream = Path.Combine(staging, node.Node + ".stream");
        var request = new NodeSnapshotRequest(run.RuntimeName, node.Node)
        {
            SaveConfig = node.SaveConfig,
            RunningConfig = node.ConfigPath is null ? null : node.RunningConfig,
            Paths = [.. node.Binds.Select(b => b.ContainerPath)],
            LimitBytes = limit,
            Memory = node.Memory,
        };
        await using (var file = new FileStream(stream, FileMode.CreateNew, FileAccess.Write))
        {
            long received = 0;
            await run.Agent.SnapshotNodeAsync(request, async (bytes, c) =>
            {
                // The host bounds its stream; the controller does not take its word for it.
                received += bytes.Length;
                if (received > limit)
                {
                    throw new LabRuntimeException(run.LabName, node.Node, $"its saved state is larger than the {limit >> 20} MiB left of the owner's snapshot quota");
                }
                await file.WriteAsync(bytes, c);
            }, ct);
        }
        var parts = await NodeSnapshotSplitter.SplitAsync(stream, node.Node, node.Binds, node.ConfigPath, staging, ct);
        File.Delete(stream);
        foreach (var warning in parts.Warnings)
        {
            run.Progress.Report(new RuntimeEvent(DateTimeOffset.UtcNow, run.RuntimeName, node.Node, RuntimeEventKind.Warning, warning));
        }
        return parts;
    }

    /// <summary>The node's image's repository digest as its host knows it (an export names it); null for a locally built image or when the host cannot say.</summary>
    private static async Task<string?> ImageDigestAsync(LabTaskRun run, string node, CancellationToken ct)
    {
        try
        {
            return (await run.Agent.DescribeNodeAsync(run.RuntimeName, node, ct)).ImageDigests is [var digest, ..] ? digest : null;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return null; // a digest is information for the importer, never a reason to fail the snapshot
        }
    }

    private static void Report(LabTaskRun run, string node, string message) =>
        run.Progress.Report(new RuntimeEvent(DateTimeOffset.UtcNow, run.RuntimeName, node, RuntimeEventKind.Progress, message));

    protected override async Task SucceededAsync(Lab lab, SnapshotInput input, SnapshotResult result, CancellationToken ct)
    {
        var snapshot = await db.Snapshots.FindAsync([input.SnapshotId], ct);
        if (snapshot is null)
        {
            store.Delete(input.SnapshotId); // deleted while it was being taken
            return;
        }
        snapshot.State = SnapshotState.Ready;
        snapshot.SizeBytes = result.SizeBytes;
        snapshot.NodeCount = result.Nodes;
        journal.Event(lab, result.Warnings.Count == 0 ? LabEventLevel.Info : LabEventLevel.Warning,
            $"snapshot '{input.Name}' taken: {result.Nodes} nodes, {Math.Max(1, result.SizeBytes >> 10)} KiB"
            + (result.Warnings.Count == 0 ? "" : $" ({string.Join("; ", result.Warnings)})"));
    }

    public override async Task FailedAsync(LabTask task, Lab lab, string error, CancellationToken ct)
    {
        // Nothing half-made stays: the row goes with the task's failure (saved by the runner), the folder now.
        var input = LabTaskInput.Read<SnapshotInput>(task.InputJson);
        store.Delete(input.SnapshotId);
        if (await db.Snapshots.FindAsync([input.SnapshotId], ct) is { } snapshot)
        {
            db.Snapshots.Remove(snapshot);
        }
    }
}
