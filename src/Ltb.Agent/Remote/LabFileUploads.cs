using Ltb.Runtime.Files;
using Ltb.Runtime.Status;

namespace Ltb.Agent.Remote;

/// <summary>
/// Lab files a controller sends ahead of a deployment (PutLabFiles), when they are too large for the deploy call itself:
/// a snapshot's saved VM disks and RAM states. Each is one gzipped tar in a root-only folder, named by a random id,
/// checked against the size and SHA-256 the controller announced, bounded by <see cref="MaxBytes"/>, and deleted when
/// the deployment unpacks it; one that no deployment claims is deleted after <see cref="Lifetime"/>.
/// </summary>
public sealed class LabFileUploads(string folder)
{
    /// <summary>The most one lab's files may take on their way (the disks and RAM states of a lab's VMs).</summary>
    public const long MaxBytes = 64L << 30;
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(1);

    /// <summary>Writes <paramref name="tarGz"/> to a new upload and returns its id; a short, long or altered one is refused and deleted.</summary>
    public async Task<string> ReceiveAsync(string lab, Stream tarGz, long size, string sha256, CancellationToken ct)
    {
        if (size is <= 0 or > MaxBytes)
        {
            throw new LabRuntimeException(lab, null, $"the lab's files ({size >> 20} MiB) are not between 1 byte and the {MaxBytes >> 30} GiB a host takes for one deployment");
        }
        Directory.CreateDirectory(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        DeleteStale();
        var id = Guid.NewGuid().ToString("N");
        var path = Path.Combine(folder, id);
        try
        {
            CopiedBytes copied;
            await using (var file = new FileStream(path, new FileStreamOptions
                         {
                             Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
                         }))
            {
                copied = await BoundedCopy.CopyHashedAsync(tarGz, file, size,
                    () => new LabRuntimeException(lab, null, $"the lab's files arrived longer than the {size} bytes announced"), ct);
            }
            if (copied.Length != size)
            {
                throw new LabRuntimeException(lab, null, $"the lab's files arrived with {copied.Length} of their {size} bytes");
            }
            if (!string.Equals(copied.Sha256, sha256, StringComparison.OrdinalIgnoreCase))
            {
                throw new LabRuntimeException(lab, null, "the lab's files arrived altered (their SHA-256 is not the one announced)");
            }
            return id;
        }
        catch
        {
            File.Delete(path);
            throw;
        }
    }

    /// <summary>Where upload <paramref name="id"/> is; an id that is not one of ours is refused (no path from the wire).</summary>
    public string PathOf(string lab, string id) => Guid.TryParseExact(id, "N", out _)
        ? Path.Combine(folder, id)
        : throw new LabRuntimeException(lab, null, $"'{id}' is not an id of lab files sent ahead");

    private void DeleteStale()
    {
        foreach (var file in new DirectoryInfo(folder).EnumerateFiles())
        {
            if (DateTime.UtcNow - file.LastWriteTimeUtc > Lifetime)
            {
                file.Delete();
            }
        }
    }
}
