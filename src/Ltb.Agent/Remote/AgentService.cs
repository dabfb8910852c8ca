using System.Threading.Channels;
using Google.Protobuf;
using Grpc.Core;
using Ltb.Agent.Grpc;
using Ltb.Runtime.Docker;
using Ltb.Runtime.Plan;
using Ltb.Runtime.Status;
using RuntimeEvent = Ltb.Runtime.Status.RuntimeEvent;

namespace Ltb.Agent.Remote;

/// <summary>
/// The agent side of Protos/agent.proto: each rpc calls the host's <see cref="ILabHostAgent"/> (the runtime-backed one),
/// streams its progress, and turns a <see cref="LabRuntimeException"/> into the status the client turns back.
/// Who may call is checked before this runs (<see cref="ControllerCredential"/>).
/// </summary>
public sealed partial class AgentService(ILabHostAgent agent, AgentFilesFolder files, AgentVmImageCache vmImages) : LabHostAgent.LabHostAgentBase
{
    public override async Task<CheckReply> Check(CheckRequest request, ServerCallContext context)
    {
        var health = await agent.CheckAsync(context.CancellationToken);
        return new CheckReply { Reachable = health.Reachable, Message = health.Message };
    }

    public override Task Deploy(DeployRequest request, IServerStreamWriter<LabUpdate> responseStream, ServerCallContext context) =>
        DeployOrApplyAsync(request, responseStream, context, apply: false);

    public override Task Apply(DeployRequest request, IServerStreamWriter<LabUpdate> responseStream, ServerCallContext context) =>
        DeployOrApplyAsync(request, responseStream, context, apply: true);

    private Task DeployOrApplyAsync(DeployRequest request, IServerStreamWriter<LabUpdate> stream, ServerCallContext context, bool apply) =>
        GuardAsync(async () =>
        {
            var plan = AgentWire.FromJson<LabPlan>(request.PlanJson);
            var paths = FilePaths.None;
            if (request.FilesRoot.Length > 0)
            {
                paths = new FilePaths(request.FilesUpload.Length > 0
                    ? files.UnpackUpload(plan.LabName, request.FilesUpload)
                    : files.Unpack(plan.LabName, request.FilesTarGz.ToByteArray()), request.FilesRoot);
                plan = LabFiles.Rebase(plan, request.FilesRoot, paths.Local);
            }
            var options = new AgentDeployOptions(request.Options?.Rollback ?? false, request.Options?.TimeoutSeconds is > 0 and var t ? t : 600,
                Converge: request.Options?.Converge ?? false);
            try
            {
                var status = await StreamAsync(stream, context, progress => apply
                    ? agent.ApplyAsync(plan, options, paths.Translate(progress), context.CancellationToken)
                    : agent.DeployAsync(plan, options, paths.Translate(progress), context.CancellationToken));
                // The deployment folders no node of the lab mounts any more (replaced by a reconfigure) go.
                files.Prune(plan);
                await stream.WriteAsync(new LabUpdate { StatusJson = paths.Back(AgentWire.ToJson(status)) });
            }
            catch (LabRuntimeException e)
            {
                throw paths.Back(e);
            }
        });

    public override Task Destroy(LabRequest request, IServerStreamWriter<LabUpdate> responseStream, ServerCallContext context) =>
        GuardAsync(async () =>
        {
            await StreamAsync(responseStream, context, async progress =>
            {
                await agent.DestroyAsync(request.Lab, progress, context.CancellationToken);
                return true;
            });
            files.Remove(request.Lab);
        });

    public override Task<LabStatusReply> Inspect(LabRequest request, ServerCallContext context) =>
        GuardAsync(async () => new LabStatusReply { StatusJson = AgentWire.ToJson(await agent.InspectAsync(request.Lab, context.CancellationToken)) });

    public override Task<ListLabsReply> ListLabs(ListLabsRequest request, ServerCallContext context) =>
        GuardAsync(async () => new ListLabsReply { Labs = { await agent.ListLabsAsync(context.CancellationToken) } });

    public override Task<ExecReply> Exec(ExecRequest request, ServerCallContext context) =>
        GuardAsync(async () =>
        {
            // Capped here, before anything is sent: the agent holds at most its hard limit whatever the controller asks.
            var result = await agent.ExecAsync(request.Lab, request.Node, request.Command,
                TimeSpan.FromSeconds(Math.Clamp(request.TimeoutSeconds, 1, 3600)), Limit(request.OutputLimitBytes), context.CancellationToken);
            return new ExecReply { ExitCode = result.ExitCode, Stdout = result.Stdout, Stderr = result.Stderr, Truncated = result.Truncated };
        });

    public override Task<NodeStatusReply> NodeAction(NodeActionRequest request, ServerCallContext context) =>
        GuardAsync(async () =>
        {
            var action = request.Action switch
            {
                Grpc.NodeAction.Stop => Agent.NodeAction.Stop,
                Grpc.NodeAction.Start => Agent.NodeAction.Start,
                _ => Agent.NodeAction.Restart,
            };
            var status = await agent.NodeActionAsync(request.Lab, request.Node, action, context.CancellationToken);
            return new NodeStatusReply { NodeStatusJson = AgentWire.ToJson(status) };
        });

    public override Task<NodeDetailsReply> DescribeNode(NodeRequest request, ServerCallContext context) =>
        GuardAsync(async () => new NodeDetailsReply
        {
            DetailsJson = AgentWire.ToJson(await agent.DescribeNodeAsync(request.Lab, request.Node, context.CancellationToken)),
        });

    public override Task<UsageReply> Usage(UsageRequest request, ServerCallContext context) =>
        GuardAsync(async () => new UsageReply { UsageJson = AgentWire.ToJson(await agent.UsageAsync(context.CancellationToken)) });

    public override Task<LinkStateReply> SetLinkState(LinkStateRequest request, ServerCallContext context) =>
        GuardAsync(async () =>
        {
            await agent.SetLinkStateAsync(request.Lab, request.Node, request.Interface, request.Up, context.CancellationToken);
            return new LinkStateReply();
        });

    /// <summary>
    /// Runs a long operation while its progress events go to the stream in order. The runtime reports from its own
    /// threads; a channel keeps the stream's one-writer-at-a-time rule.
    /// </summary>
    public override Task NodeLogs(NodeLogsRequest request, IServerStreamWriter<ByteChunk> responseStream, ServerCallContext context) =>
        GuardAsync(async () =>
        {
            // Each piece is written (flow control) before the next is read: a slow controller slows the stream.
            var cut = await agent.NodeLogsAsync(request.Lab, request.Node, request.HasTail ? request.Tail : null, request.Follow,
                Limit(request.LimitBytes), async (text, c) => await responseStream.WriteAsync(new ByteChunk { Data = ByteString.CopyFromUtf8(text) }, c),
                context.CancellationToken);
            if (cut)
            {
                await responseStream.WriteAsync(new ByteChunk { Truncated = true }, context.CancellationToken);
            }
        });

    public override Task Capture(CaptureRequest request, IServerStreamWriter<ByteChunk> responseStream, ServerCallContext context) =>
        GuardAsync(async () =>
        {
            // Each piece is written (flow control) before tcpdump's next output is read; the call's end kills tcpdump.
            var capture = new Ltb.Runtime.Capture.PacketCaptureRequest(request.Lab, request.Node, request.Interface,
                request.Filter.Length == 0 ? null : request.Filter, request.SnapLength, request.Mirror);
            await agent.CaptureAsync(capture, async (bytes, c) => await responseStream.WriteAsync(new ByteChunk { Data = ByteString.CopyFrom(bytes.Span) }, c),
                context.CancellationToken);
        });

    public override Task<MirrorReply> Mirror(MirrorChangeRequest request, ServerCallContext context) =>
        GuardAsync(async () =>
        {
            var m = await agent.MirrorAsync(new Ltb.Runtime.Capture.MirrorRequest(request.Lab, request.Node, request.Interface, request.Name),
                request.Remove, context.CancellationToken);
            return new MirrorReply { Name = m.Name, Node = m.Node, Interface = m.Interface };
        });

    private static long Limit(long requested) =>
        requested is > 0 and < ContainerExec.HardLimitBytes ? requested : ContainerExec.HardLimitBytes;

    private static async Task<T> StreamAsync<T>(IServerStreamWriter<LabUpdate> stream, ServerCallContext context,
        Func<IProgress<RuntimeEvent>, Task<T>> operation)
    {
        var events = Channel.CreateUnbounded<RuntimeEvent>(new UnboundedChannelOptions { SingleReader = true });
        var writer = Task.Run(async () =>
        {
            await foreach (var e in events.Reader.ReadAllAsync(context.CancellationToken))
            {
                await stream.WriteAsync(new LabUpdate { Event = AgentWire.ToMessage(e) }, context.CancellationToken);
            }
        });
        try
        {
            return await operation(new ChannelProgress(events.Writer));
        }
        finally
        {
            events.Writer.TryComplete();
            await writer;
        }
    }

    internal static async Task GuardAsync(Func<Task> call)
    {
        try
        {
            await call();
        }
        catch (LabRuntimeException e)
        {
            throw AgentWire.ToRpc(e);
        }
    }

    private static async Task<T> GuardAsync<T>(Func<Task<T>> call)
    {
        try
        {
            return await call();
        }
        catch (LabRuntimeException e)
        {
            throw AgentWire.ToRpc(e);
        }
    }

    private sealed class ChannelProgress(ChannelWriter<RuntimeEvent> writer) : IProgress<RuntimeEvent>
    {
        public void Report(RuntimeEvent value) => writer.TryWrite(value);
    }
}

/// <summary>
/// Where the lab's files are on this host and where the controller had them: what the agent reports (progress, errors,
/// status) names the controller's paths, which the controller then shows users relative to their topology
/// (ServerPaths): this host's folders stay its own.
/// </summary>
public sealed record FilePaths(string Local, string Controller)
{
    public static readonly FilePaths None = new("", "");

    public string Back(string text) => Local.Length == 0 ? text : text.Replace(Local, Controller, StringComparison.Ordinal);

    public LabRuntimeException Back(LabRuntimeException e) =>
        Local.Length == 0 ? e : new LabRuntimeException(e.Lab, e.Node, Back(e.Cause), e.InnerException) { Status = e.Status };

    public IProgress<RuntimeEvent> Translate(IProgress<RuntimeEvent> progress) =>
        Local.Length == 0 ? progress : new Progress(progress, this);

    private sealed class Progress(IProgress<RuntimeEvent> inner, FilePaths paths) : IProgress<RuntimeEvent>
    {
        public void Report(RuntimeEvent value) => inner.Report(value with { Message = paths.Back(value.Message) });
    }
}

/// <summary>
/// Where an agent keeps the lab files a controller sent: a folder per lab, beside the runtime's state, holding one
/// folder per deployment (<see cref="LabFiles"/>).
/// </summary>
public sealed class AgentFilesFolder(string root)
{
    /// <summary>Lab files sent ahead of their deployment (PutLabFiles), beside the labs' folders (a lab name never starts with '.').</summary>
    private readonly LabFileUploads _uploads = new(Path.Combine(root, ".uploads"));

    public string PathOf(string lab) =>
        lab.Length == 0 || lab.Contains('/', StringComparison.Ordinal) || lab.StartsWith('.')
            ? throw new LabRuntimeException(lab, null, "not a lab name")
            : Path.Combine(root, lab);

    public string Unpack(string lab, byte[] tarGz) => Unpack(lab, new MemoryStream(tarGz));

    /// <summary>Unpacks the lab's files a controller sent ahead (<see cref="ReceiveAsync"/>) and deletes them.</summary>
    public string UnpackUpload(string lab, string upload)
    {
        var path = _uploads.PathOf(lab, upload);
        try
        {
            using var tarGz = new FileStream(path, FileMode.Open, FileAccess.Read);
            return Unpack(lab, tarGz);
        }
        catch (FileNotFoundException)
        {
            throw new LabRuntimeException(lab, null, $"the lab's files sent ahead ({upload}) are not on this host (older than {LabFileUploads.Lifetime.TotalMinutes:0} minutes, or the agent restarted with another data folder): deploy again");
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>Receives a lab's files ahead of its deployment (PutLabFiles): its id for <see cref="UnpackUpload"/>.</summary>
    public Task<string> ReceiveAsync(string lab, Stream tarGz, long size, string sha256, CancellationToken ct)
    {
        PathOf(lab); // refuses what is not a lab name
        return _uploads.ReceiveAsync(lab, tarGz, size, sha256, ct);
    }

    private string Unpack(string lab, Stream tarGz)
    {
        var target = PathOf(lab);
        try
        {
            LabFiles.Unpack(tarGz, target);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            throw new LabRuntimeException(lab, null, $"the lab's files cannot be unpacked on this host: {e.Message}");
        }
        return target;
    }

    /// <summary>Keeps only the deployment folders the plan (already pointed at this host's folder) uses.</summary>
    public void Prune(LabPlan plan) => LabFiles.Prune(PathOf(plan.LabName), LabFiles.Folders(plan, PathOf(plan.LabName)));

    /// <summary>Deletes the lab's folder without following any link a node left in it.</summary>
    public void Remove(string lab) => FileTree.Delete(PathOf(lab));
}
