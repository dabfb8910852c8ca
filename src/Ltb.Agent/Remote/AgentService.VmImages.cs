using Grpc.Core;
using Ltb.Agent.Grpc;
using Ltb.Runtime.Status;
using Ltb.Runtime.Nodes.Vm;

namespace Ltb.Agent.Remote;

/// <summary>
/// The agent's cache of the controller's VM images (<c>AGENT-DATA/vm-images</c>, a <see cref="VmImageLibrary"/>): the
/// VM driver looks there before the host's own library. Images arrive only from the controller, verified by checksum.
/// </summary>
public sealed class AgentVmImageCache(string root)
{
    public VmImageLibrary Library { get; } = new(root);

    /// <summary>One image written at a time: two deployments that need the same image send it once after the other.</summary>
    public SemaphoreSlim Writing { get; } = new(1, 1);
}

public sealed partial class AgentService
{
    public override Task<VmImageReply> VmImageCached(VmImageRequest request, ServerCallContext context) =>
        Task.FromResult(new VmImageReply { Cached = Cached(request.Name, request.Version, request.Sha256) });

    private bool Cached(string name, string version, string sha256) =>
        vmImages.Library.Find($"{name}:{version}") is { } disk && string.Equals(disk.Sha256, sha256, StringComparison.OrdinalIgnoreCase);

    public override Task<VmImageReply> PutVmImage(IAsyncStreamReader<VmImagePart> requestStream, ServerCallContext context) =>
        GuardAsync(async () =>
        {
            var ct = context.CancellationToken;
            if (!await requestStream.MoveNext(ct) || requestStream.Current.Header is not { } header)
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument, "a VM image is sent header first"));
            }
            await vmImages.Writing.WaitAsync(ct);
            try
            {
                if (Cached(header.Name, header.Version, header.Sha256))
                {
                    return new VmImageReply { Cached = true }; // sent meanwhile by another deployment
                }
                await using var bytes = new PartStream<VmImagePart>(requestStream, p => p.Data, ct);
                var disk = await vmImages.Library.WriteAsync(header.Name, header.Version, header.Format, bytes, header.SizeBytes, header.Sha256, ct);
                if (disk.SizeBytes != header.SizeBytes)
                {
                    vmImages.Library.Delete(header.Name, header.Version);
                    throw new LabRuntimeException("-", null, $"the VM image {header.Name}:{header.Version} arrived with {disk.SizeBytes} of its {header.SizeBytes} bytes");
                }
                return new VmImageReply { Cached = true };
            }
            catch (VmImageRefusedException e)
            {
                throw new LabRuntimeException("-", null, $"the VM image {header.Name}:{header.Version} was refused by this host: {e.Message}");
            }
            finally
            {
                vmImages.Writing.Release();
            }
        });
}
