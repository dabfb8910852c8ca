using System.Diagnostics;
using System.Globalization;
using Google.Protobuf;
using Ltb.Agent.Grpc;
using Ltb.Runtime.Nodes.Vm;
using Ltb.Runtime.Plan;
using RuntimeEvent = Ltb.Runtime.Status.RuntimeEvent;
using RuntimeEventKind = Ltb.Runtime.Status.RuntimeEventKind;

namespace Ltb.Agent.Remote;

public sealed partial class GrpcLabHostAgent
{
    private const int VmImagePartBytes = 1 << 20;

    /// <summary>
    /// Before a deployment: every disk of the controller's VM image library (<paramref name="library"/>) that a VM node of
    /// the plan boots from goes to the host, unless its cache holds that very disk (same SHA-256) already. The agent
    /// verifies the checksum before it keeps the disk; images the controller does not hold are the host's own business.
    /// </summary>
    private async Task SendVmImagesAsync(LabPlan plan, string? library, IProgress<RuntimeEvent>? progress, CancellationToken ct)
    {
        if (library is null || !Directory.Exists(library))
        {
            return;
        }
        var images = new VmImageLibrary(library);
        var disks = plan.Nodes.Where(n => n.Vm is not null).Select(n => VmImageLibrary.Normalize(n.Vm!.Disk)).Distinct(StringComparer.Ordinal)
            .Select(images.Find).OfType<VmImageDisk>();
        foreach (var disk in disks)
        {
            var cached = await _client.VmImageCachedAsync(new VmImageRequest { Name = disk.Name, Version = disk.Version, Sha256 = disk.Sha256 },
                _headers, cancellationToken: ct);
            if (cached.Cached)
            {
                Report(progress, plan.LabName, $"VM image {disk.Reference} is in host '{_hostName}''s cache");
                continue;
            }
            Report(progress, plan.LabName, $"sending VM image {disk.Reference} ({Mib(disk.SizeBytes)} MiB) to host '{_hostName}'");
            var watch = Stopwatch.StartNew();
            using var call = _client.PutVmImage(_headers, cancellationToken: ct);
            await call.RequestStream.WriteAsync(new VmImagePart
            {
                Header = new VmImageHeader { Name = disk.Name, Version = disk.Version, Format = disk.Format, Sha256 = disk.Sha256, SizeBytes = disk.SizeBytes },
            }, ct);
            await using (var file = new FileStream(disk.Path, FileMode.Open, FileAccess.Read, FileShare.Read, VmImagePartBytes, FileOptions.Asynchronous))
            {
                await WritePartsAsync(call.RequestStream, file, data => new VmImagePart { Data = data }, ct);
            }
            await call.ResponseAsync;
            Report(progress, plan.LabName,
                $"VM image {disk.Reference} sent to host '{_hostName}' in {watch.Elapsed.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s (checksum verified there)");
        }
    }

    private static string Mib(long bytes) => (bytes / (1024.0 * 1024)).ToString("0.0", CultureInfo.InvariantCulture);

    private static void Report(IProgress<RuntimeEvent>? progress, string lab, string message) =>
        progress?.Report(new RuntimeEvent(DateTimeOffset.UtcNow, lab, null, RuntimeEventKind.Info, message));
}
