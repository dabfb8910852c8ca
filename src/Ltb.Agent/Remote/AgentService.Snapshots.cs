using Google.Protobuf;
using Grpc.Core;
using Ltb.Agent.Grpc;
using Ltb.Runtime.Nodes;

namespace Ltb.Agent.Remote;

public sealed partial class AgentService
{
    /// <summary>A node's snapshot as byte pieces; each is written (flow control) before the next is made.</summary>
    public override Task SnapshotNode(SnapshotNodeRequest request, IServerStreamWriter<ByteChunk> responseStream, ServerCallContext context) =>
        GuardAsync(async () =>
        {
            var snapshot = new NodeSnapshotRequest(request.Lab, request.Node)
            {
                SaveConfig = request.SaveConfig.Count == 0 ? null : [.. request.SaveConfig],
                RunningConfig = request.RunningConfig.Count == 0 ? null : [.. request.RunningConfig],
                Paths = [.. request.Paths],
                LimitBytes = request.LimitBytes is > 0 and < NodeSnapshotStream.HardLimitBytes ? request.LimitBytes : NodeSnapshotStream.HardLimitBytes,
                Memory = request.Memory,
            };
            await agent.SnapshotNodeAsync(snapshot, async (bytes, c) => await responseStream.WriteAsync(new ByteChunk { Data = ByteString.CopyFrom(bytes.Span) }, c),
                context.CancellationToken);
        });
}
