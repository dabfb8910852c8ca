using System.Collections.Concurrent;
using System.Formats.Tar;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Docker.DotNet;
using Docker.DotNet.Models;
using Ltb.Runtime.Docker;
using Ltb.Runtime.Network;

namespace Ltb.Runtime.Nodes.Vm;

/// <summary>
/// VM disks taken from vrnetlab container images (what containerlab runs as a container with QEMU inside; LTB wants
/// only the disk and runs QEMU itself). The image is never run: a container is created from it, not started, the
/// archive of its root is streamed from the engine and the single <c>*.qcow2</c> file in <c>/</c> or <c>/vrnetlab/</c>
/// is written to disk as it comes (none or several: refused, naming what was found), checked to stand alone (qcow2
/// header, then <c>qemu-img info</c>: no backing file, no external data file, either of which would point QEMU at a
/// host file), and kept in a cache named by the image's ID: <c>CACHE/IMAGE-ID-HEX/disk.qcow2</c> (read-only, the base
/// every node's overlay stands on) with <c>source.json</c> (the image and path it came from). A second node or lab of
/// the same image finds it there; concurrent deployments extract it once. The temporary container is always removed.
/// </summary>
public sealed partial class VrnetlabDisks(DockerEngine engine, string cacheRoot, IHostNetwork host)
{
    /// <summary>The label of the temporary containers (never started) the disks are read from.</summary>
    public const string ExtractLabel = "ltb.vrnetlab-disk";
    public const string DiskFile = "disk.qcow2";
    public const string SourceFile = "source.json";
    private static readonly ConcurrentDictionary<string, SemaphoreSlim> Extracting = new(StringComparer.Ordinal);

    public string Root { get; } = cacheRoot;

    /// <summary>The largest disk taken from an image (a bound on what the archive stream may write to the host).</summary>
    public long MaxDiskBytes { get; init; } = 256L << 30;

    /// <summary>How long one extraction may take (the engine streams the image's whole root filesystem).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>A container image reference ([REGISTRY[:PORT]/]PATH[:TAG][@sha256:DIGEST]), never a host path.</summary>
    [GeneratedRegex(@"^[a-z0-9][a-z0-9.-]{0,252}(:[0-9]{1,5})?(/[a-z0-9][a-z0-9._-]{0,127}){0,8}(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$")]
    private static partial Regex ImageReference();

    public static bool IsImageReference(string reference) => ImageReference().IsMatch(reference) && !reference.Contains("..", StringComparison.Ordinal);

    [GeneratedRegex("^sha256:([a-f0-9]{64})$")]
    private static partial Regex ImageId();

    /// <summary>The ID of the container image <paramref name="reference"/> on this host, or null when the engine has none of that name.</summary>
    public async Task<string?> ImageIdAsync(string reference, CancellationToken ct)
    {
        try
        {
            return (await engine.Client.Images.InspectImageAsync(reference, ct)).ID;
        }
        catch (DockerImageNotFoundException)
        {
            return null;
        }
    }

    /// <summary>Pulls <paramref name="reference"/> from its registry (the pull policy IfMissing).</summary>
    public async Task PullAsync(string reference, TimeSpan timeout, CancellationToken ct)
    {
        using var pull = CancellationTokenSource.CreateLinkedTokenSource(ct);
        pull.CancelAfter(timeout);
        await engine.Client.Images.CreateImageAsync(new ImagesCreateParameters { FromImage = reference }, null, new Progress<JSONMessage>(), pull.Token);
    }

    /// <summary>The cache folder of an image ID (its hex digest: nothing else reaches the path).</summary>
    public string Folder(string imageId) =>
        ImageId().Match(imageId) is { Success: true } m ? Path.Combine(Root, m.Groups[1].Value)
            : throw new VmImageRefusedException($"the engine gave '{imageId}' as an image ID, which is not sha256:HEX");

    /// <summary>The cached disk of <paramref name="imageId"/>, or null when it was not extracted yet.</summary>
    public VmImage? Cached(string reference, string imageId)
    {
        var folder = Folder(imageId);
        var disk = Path.Combine(folder, DiskFile);
        return File.Exists(disk) && File.Exists(Path.Combine(folder, SourceFile)) ? new VmImage(reference, folder, disk, "qcow2", null, null, "") : null;
    }

    /// <summary>
    /// The disk of image <paramref name="reference"/> (ID <paramref name="imageId"/>): from the cache, else extracted
    /// into it (<paramref name="report"/> hears about it). Refusals are <see cref="VmImageRefusedException"/>s naming the image.
    /// </summary>
    public async Task<VmImage> GetAsync(string reference, string imageId, Action<string>? report, CancellationToken ct)
    {
        var folder = Folder(imageId);
        var gate = Extracting.GetOrAdd(folder, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(ct);
        try
        {
            if (Cached(reference, imageId) is { } cached)
            {
                report?.Invoke($"VM disk of image {reference} ({Short(imageId)}) is in this host's cache");
                return cached;
            }
            report?.Invoke($"extracting the VM disk of image {reference} ({Short(imageId)}) into this host's cache");
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var (inside, size) = await ExtractAsync(reference, imageId, folder, ct);
            report?.Invoke($"VM disk of image {reference} extracted from {inside} ({(size / 1048576.0).ToString("0.0", CultureInfo.InvariantCulture)} MiB) " +
                $"in {clock.Elapsed.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s");
            return Cached(reference, imageId) ?? throw new VmImageRefusedException($"the VM disk of image {reference} vanished from the cache ({folder}) right after it was extracted");
        }
        finally
        {
            gate.Release();
        }
    }

    private static string Short(string imageId) => imageId.Length > 19 ? imageId[..19] : imageId;

    private async Task<(string Inside, long Size)> ExtractAsync(string reference, string imageId, string folder, CancellationToken ct)
    {
        Directory.CreateDirectory(Root);
        var staging = Path.Combine(Root, $".extract-{Guid.NewGuid():N}");
        Directory.CreateDirectory(staging);
        string? container = null;
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(Timeout);
        try
        {
            container = await CreateContainerAsync(reference, imageId, limit.Token);
            var disk = Path.Combine(staging, DiskFile);
            var found = await CopyQcow2Async(container, disk, reference, limit.Token);
            if (found.Count != 1)
            {
                throw new VmImageRefusedException(found.Count == 0
                    ? $"image {reference} holds no VM disk: no *.qcow2 file in / or /vrnetlab/ (a vrnetlab image has exactly one); build it with its qcow2, or add the disk to the VM image library (ltb image vm add)"
                    : $"image {reference} holds {found.Count} VM disks ({string.Join(", ", found)}), LTB takes one: build the image with a single qcow2, or add the disk you mean to the VM image library (ltb image vm add)");
            }
            var size = new FileInfo(disk).Length;
            await CheckStandsAloneAsync(disk, $"{found[0]} of image {reference}", ct);
            await File.WriteAllTextAsync(Path.Combine(staging, SourceFile), JsonSerializer.Serialize(new
            {
                image = reference, id = imageId, path = found[0], sizeBytes = size, extractedAt = DateTimeOffset.UtcNow,
            }), ct);
            // The base stays pristine: nodes write to their own overlays, never to it.
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(disk, UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
            }
            try
            {
                Directory.Move(staging, folder);
            }
            catch (IOException) when (Directory.Exists(folder))
            {
                // Another process (a second agent on this host) put the same image's disk there first: use that one.
            }
            return (found[0], size);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new VmImageRefusedException($"the VM disk of image {reference} could not be extracted within {Timeout.TotalMinutes:0} minutes");
        }
        catch (Exception e) when (e is DockerApiException or HttpRequestException or InvalidDataException or EndOfStreamException)
        {
            throw new VmImageRefusedException($"the VM disk of image {reference} could not be read from the engine: " +
                (e is DockerApiException d ? Nodes.ContainerNodes.DockerMessage(d) : e.Message));
        }
        finally
        {
            if (container is not null)
            {
                await RemoveContainerAsync(container);
            }
            if (Directory.Exists(staging))
            {
                Directory.Delete(staging, recursive: true);
            }
        }
    }

    /// <summary>A container of the image, created and never started (no network; a command, since a FROM scratch image may have none).</summary>
    private async Task<string> CreateContainerAsync(string reference, string imageId, CancellationToken ct) =>
        (await engine.Client.Containers.CreateContainerAsync(new CreateContainerParameters
        {
            Image = imageId,
            Name = $"ltb-vrnetlab-disk-{Guid.NewGuid().ToString("N")[..12]}",
            Cmd = ["/ltb-never-started"],
            NetworkDisabled = true,
            Labels = new Dictionary<string, string> { [ExtractLabel] = reference },
            HostConfig = new HostConfig { NetworkMode = "none" },
        }, ct)).ID;

    private async Task RemoveContainerAsync(string container)
    {
        try
        {
            using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(1));
            await engine.Client.Containers.RemoveContainerAsync(container, new ContainerRemoveParameters { Force = true }, limit.Token);
        }
        catch (Exception e) when (e is DockerApiException or HttpRequestException or OperationCanceledException)
        {
            // The engine is gone or stuck: the container (never started) stays, named ltb-vrnetlab-disk-* and labelled
            // ltb.vrnetlab-disk so that an admin finds it (docker ps -a --filter label=ltb.vrnetlab-disk).
        }
    }

    /// <summary>
    /// Streams the archive of the container's root; the first regular <c>*.qcow2</c> file in <c>/</c> or <c>/vrnetlab/</c>
    /// goes to <paramref name="disk"/>, the others are only named. Returns the paths of all found.
    /// </summary>
    private async Task<List<string>> CopyQcow2Async(string container, string disk, string reference, CancellationToken ct)
    {
        var archive = await engine.Client.Containers.GetArchiveFromContainerAsync(container, new ContainerPathStatParameters { Path = "/" }, false, ct);
        await using var stream = archive.Stream ?? Stream.Null;
        await using var tar = new TarReader(stream, leaveOpen: true);
        var found = new List<string>();
        while (await tar.GetNextEntryAsync(copyData: false, ct) is { } entry)
        {
            if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile) || DiskPath(entry.Name) is not { } path)
            {
                continue;
            }
            found.Add(path);
            if (found.Count > 1)
            {
                continue;
            }
            if (entry.Length > MaxDiskBytes)
            {
                throw new VmImageRefusedException($"the VM disk {path} of image {reference} has {entry.Length} bytes, more than the " +
                    $"{MaxDiskBytes} a disk taken from an image may have here");
            }
            await CopyExactlyAsync(entry.DataStream ?? Stream.Null, entry.Length, disk, ct);
        }
        return found;
    }

    /// <summary>
    /// Copies the entry's <paramref name="length"/> bytes: exactly that many, since an unseekable archive's entry stream
    /// throws when read at its end instead of returning 0 (so CopyToAsync cannot be used on it).
    /// </summary>
    private static async Task CopyExactlyAsync(Stream data, long length, string path, CancellationToken ct)
    {
        await using var output = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous);
        var buffer = new byte[1 << 20];
        for (var left = length; left > 0;)
        {
            var n = await data.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, left)), ct);
            if (n == 0)
            {
                throw new EndOfStreamException($"the archive ended {left} bytes before the end of the disk");
            }
            await output.WriteAsync(buffer.AsMemory(0, n), ct);
            left -= n;
        }
    }

    /// <summary>"/NAME.qcow2" for an archive entry that is a qcow2 file directly in / or /vrnetlab/, else null.</summary>
    internal static string? DiskPath(string entryName)
    {
        var name = entryName.Replace('\\', '/');
        while (name.StartsWith("./", StringComparison.Ordinal) || name.StartsWith('/'))
        {
            name = name.StartsWith('/') ? name[1..] : name[2..];
        }
        if (!name.EndsWith(".qcow2", StringComparison.OrdinalIgnoreCase) || name.Contains("..", StringComparison.Ordinal))
        {
            return null;
        }
        var slash = name.IndexOf('/', StringComparison.Ordinal);
        var inRoot = slash < 0;
        var inVrnetlab = name.StartsWith("vrnetlab/", StringComparison.Ordinal) && name.IndexOf('/', "vrnetlab/".Length) < 0;
        return inRoot || inVrnetlab ? "/" + name : null;
    }

    /// <summary>The disk is a qcow2 that stands alone (<see cref="StandAloneQcow2"/>); a refusal names it and the image.</summary>
    private async Task CheckStandsAloneAsync(string disk, string what, CancellationToken ct)
    {
        try
        {
            await StandAloneQcow2.CheckAsync(host, disk, ct);
        }
        catch (VmImageRefusedException e)
        {
            throw new VmImageRefusedException($"{what} is refused: {e.Message}");
        }
    }
}
