using System.Security.Cryptography;
using Google.Protobuf;
using Grpc.Core;
using Ltb.Agent.Grpc;
using Ltb.Runtime.Status;
using RuntimeEvent = Ltb.Runtime.Status.RuntimeEvent;

namespace Ltb.Agent.Remote;

public sealed partial class GrpcLabHostAgent
{
    /// <summary>From this size on, sending the lab's files is a progress line of its own.</summary>
    private const long ReportedFilesBytes = 16L << 20;

    /// <summary>
    /// The deployment folders the plan uses (<paramref name="folders"/> under <paramref name="root"/>), packed into a
    /// temporary file and sent ahead in parts (PutLabFiles, checked by size and SHA-256 there): a snapshot's saved VM disks
    /// and RAM states can be gigabytes, more than one message of the deploy call may carry. The deploy call names the upload.
    /// </summary>
    private async Task SendLabFilesAsync(string lab, string root, IReadOnlySet<string> folders, DeployRequest request,
        IProgress<RuntimeEvent>? progress, CancellationToken ct)
    {
        await using var packed = new FileStream(Path.Combine(Path.GetTempPath(), $"ltb-lab-files-{Guid.NewGuid():N}.tar.gz"), new FileStreamOptions
        {
            Mode = FileMode.CreateNew, Access = FileAccess.ReadWrite, Options = FileOptions.DeleteOnClose | FileOptions.Asynchronous,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        });
        using var hash = SHA256.Create();
        try
        {
            // Hashed as it is written: a snapshot's files can be gigabytes, not worth reading twice.
            using var hashing = new CryptoStream(packed, hash, CryptoStreamMode.Write, leaveOpen: true);
            LabFiles.Pack(root, folders, hashing);
        }
        catch (IOException e)
        {
            throw new LabRuntimeException(lab, null, $"the lab's files cannot be sent to host '{_hostName}': {e.Message}");
        }
        var sha256 = Convert.ToHexStringLower(hash.Hash!);
        packed.Position = 0;
        if (packed.Length >= ReportedFilesBytes)
        {
            Report(progress, lab, $"sending the lab's files ({Mib(packed.Length)} MiB compressed, saved VM disks included) to host '{_hostName}'");
        }
        try
        {
            using var call = _client.PutLabFiles(_headers, cancellationToken: ct);
            await call.RequestStream.WriteAsync(new LabFilesPart { Header = new LabFilesHeader { Lab = lab, SizeBytes = packed.Length, Sha256 = sha256 } }, ct);
            await WritePartsAsync(call.RequestStream, packed, data => new LabFilesPart { Data = data }, ct);
            request.FilesUpload = (await call.ResponseAsync).Upload;
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Unimplemented)
        {
            // An agent of an earlier release takes the files inside the deploy call only: one message, so bounded.
            if (packed.Length > AgentWire.MaxMessageBytes - (1 << 20))
            {
                throw new LabRuntimeException(lab, null, $"the lab's files take {packed.Length >> 20} MiB compressed (saved VM disks included), " +
                    $"more than the {AgentWire.MaxMessageBytes >> 20} MiB host '{_hostName}' takes in a deployment until its agent is upgraded to this release");
            }
            packed.Position = 0;
            request.FilesTarGz = await ByteString.FromStreamAsync(packed, ct);
        }
    }

    /// <summary>Sends <paramref name="source"/> to the end in parts of a mebibyte (flow control: one part in flight at a time).</summary>
    private static async Task WritePartsAsync<T>(IClientStreamWriter<T> writer, Stream source, Func<ByteString, T> part, CancellationToken ct)
    {
        var buffer = new byte[1 << 20];
        int n;
        while ((n = await source.ReadAsync(buffer, ct)) > 0)
        {
            await writer.WriteAsync(part(ByteString.CopyFrom(buffer, 0, n)), ct);
        }
        await writer.CompleteAsync();
    }
}
