using Ltb.Agent.Grpc;
using Ltb.Runtime.Nodes;

namespace Ltb.Agent.Remote;

public sealed partial class GrpcLabHostAgent
{
    /// <summary>Reads the node's snapshot one piece at a time (the agent makes the next one when this one is taken).</summary>
    public Task SnapshotNodeAsync(NodeSnapshotRequest request, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> write, CancellationToken ct) =>
        CallAsync(request.Lab, async () =>
        {
            var message = new SnapshotNodeRequest { Lab = request.Lab, Node = request.Node, LimitBytes = request.LimitBytes, Memory = request.Memory };
            message.SaveConfig.AddRange(request.SaveConfig ?? []);
            message.RunningConfig.AddRange(request.RunningConfig ?? []);
            message.Paths.AddRange(request.Paths);
            using var call = _client.SnapshotNode(message, _headers, cancellationToken: ct);
            while (await call.ResponseStream.MoveNext(ct))
            {
                await write(call.ResponseStream.Current.Data.Memory, ct);
            }
            return true;
        });
}
