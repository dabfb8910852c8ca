using Docker.DotNet;
using Ltb.Runtime.Labs;
using Ltb.Runtime.Status;

namespace Ltb.Runtime.Nodes.Vm;

/// <summary>
/// Where a VM node's image comes from: the VM image library (the controller's, then the host's: <see cref="VmImages"/>),
/// else a container image of that name on this host whose qcow2 is the disk (a vrnetlab image, as containerlab
/// topologies name them: <see cref="VrnetlabDisks"/>). The library wins when both have the name.
/// </summary>
internal sealed class VmDisks(VmImages library, VrnetlabDisks? containerImages)
{
    public VmImages Library { get; } = library;

    /// <summary>The image as the preflight (<see cref="ResolveAsync"/>) prepared it: a container image's disk is in the cache by then (no pull, no extraction).</summary>
    public Task<VmImage> PreparedAsync(string lab, string node, string reference, CancellationToken ct) =>
        ResolveAsync(lab, node, reference, PullPolicy.Never, TimeSpan.Zero, null, ct);

    /// <summary>
    /// The image <paramref name="reference"/> for node <paramref name="node"/>, ready to boot; a container image's disk
    /// is extracted into the host's cache on first use (<paramref name="report"/> says so), and with
    /// <paramref name="pull"/> IfMissing a container image not on the host is pulled first. Fails naming the node and image.
    /// </summary>
    public async Task<VmImage> ResolveAsync(string lab, string node, string reference, PullPolicy pull, TimeSpan pullTimeout, Action<string>? report,
        CancellationToken ct)
    {
        string? problem = null;
        if (VmImages.IsValidReference(reference) && Library.Resolve(reference, out problem) is { } inLibrary)
        {
            return inLibrary;
        }
        if (containerImages is null || !VrnetlabDisks.IsImageReference(reference))
        {
            throw new LabRuntimeException(lab, node, problem ?? $"'{reference}' is not a VM image name (NAME[:VERSION] of the VM image library, or a container image holding a qcow2)");
        }
        try
        {
            var id = await containerImages.ImageIdAsync(reference, ct);
            if (id is null && pull == PullPolicy.IfMissing)
            {
                report?.Invoke($"pulling {reference} (a container image holding a VM disk)");
                await containerImages.PullAsync(reference, pullTimeout, ct);
                id = await containerImages.ImageIdAsync(reference, ct);
            }
            if (id is null)
            {
                throw new LabRuntimeException(lab, node, $"VM image '{reference}' is neither in the VM image library nor a container image on this host " +
                    $"(the pull policy is {pull}): add its disk to the library (ltb image vm add), or, for a vrnetlab image (a container image " +
                    $"holding the VM's qcow2), pull or load it on the host (docker pull {reference}), then deploy again");
            }
            return await containerImages.GetAsync(reference, id, report, ct);
        }
        catch (VmImageRefusedException e)
        {
            throw new LabRuntimeException(lab, node, e.Message, e);
        }
        catch (Exception e) when (e is DockerApiException or HttpRequestException or OperationCanceledException && !ct.IsCancellationRequested)
        {
            throw new LabRuntimeException(lab, node, $"VM image '{reference}' is not in the VM image library and the container image of that name " +
                $"could not be read or pulled ({(e is DockerApiException d ? ContainerNodes.DockerMessage(d) : e.Message)}); " +
                "add its disk to the library (ltb image vm add), or pull or load the image on the host (docker pull), then deploy again", e);
        }
    }
}
