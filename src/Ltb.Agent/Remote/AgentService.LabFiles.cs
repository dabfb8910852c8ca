using Grpc.Core;
using Ltb.Agent.Grpc;

namespace Ltb.Agent.Remote;

public sealed partial class AgentService
{
    /// <summary>A lab's files ahead of its deployment (the deploy call then names the answered id in files_upload).</summary>
    public override Task<LabFilesReply> PutLabFiles(IAsyncStreamReader<LabFilesPart> requestStream, ServerCallContext context) =>
        GuardAsync(async () =>
        {
            var ct = context.CancellationToken;
            if (!await requestStream.MoveNext(ct) || requestStream.Current.Header is not { } header)
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument, "a lab's files are sent header first"));
            }
            await using var bytes = new PartStream<LabFilesPart>(requestStream, p => p.Data, ct);
            return new LabFilesReply { Upload = await files.ReceiveAsync(header.Lab, bytes, header.SizeBytes, header.Sha256, ct) };
        });
}
