using Ltb.Runtime.Nodes.Vm;
using Ltb.Server.Data;
using Ltb.Server.Hosting;
using Ltb.Topology.Catalog;
using Microsoft.EntityFrameworkCore;

namespace Ltb.Server.Catalog;

/// <summary>The outcome of <see cref="VmImageStore.AddAsync"/>: the image, or what the request did wrong (field, message).</summary>
public sealed record VmImageAdded(StoredVmImage? Image, string? Field, string? Problem, bool TooLarge = false, bool Conflict = false);

/// <summary>What an admin adds: the image's name, version and node type, where its disk comes from, how it came.</summary>
public sealed record VmImageAddition(string Name, string Version, string NodeType, string? Format, string? Sha256, VmImageSource Source);

/// <summary>
/// The controller's VM image library: a row per image (<see cref="StoredVmImage"/>) and its disk in
/// <c>DATA/vm-images/NAME/VERSION/</c> (<see cref="VmImageLibrary"/>: bounded, hashed and checked as it is written).
/// The local host boots from that folder directly; a remote host's agent receives the disks its labs need with the
/// deployment and caches them (<c>Remote/GrpcLabHostAgent.VmImages</c>).
/// </summary>
public sealed class VmImageStore(LtbDbContext db, LtbServerOptions options)
{
    public static string Folder(LtbServerOptions options) => Path.Combine(options.DataDirectory, "vm-images");

    /// <summary>One addition at a time in this process: a disk is moved into its folder only after the name was found free.</summary>
    private static readonly SemaphoreSlim Adding = new(1, 1);

    private VmImageLibrary Library => new(Folder(options));

    /// <summary>Checks the request, writes the disk read from <paramref name="disk"/> and records the image.</summary>
    public async Task<VmImageAdded> AddAsync(VmImageAddition add, Stream disk, Guid caller, CancellationToken ct)
    {
        if (await CheckAsync(add, ct) is { } refused)
        {
            return refused;
        }
        await Adding.WaitAsync(ct);
        try
        {
            return await CheckAsync(add, ct) ?? await WriteAsync(add, disk, caller, ct);
        }
        finally
        {
            Adding.Release();
        }
    }

    private async Task<VmImageAdded> WriteAsync(VmImageAddition add, Stream disk, Guid caller, CancellationToken ct)
    {
        VmImageDisk written;
        try
        {
            written = await Library.WriteAsync(add.Name, add.Version, add.Format, disk, options.VmImageMaxBytes, add.Sha256, ct);
        }
        catch (VmImageRefusedException e)
        {
            return new VmImageAdded(null, "disk", e.Message, e.TooLarge);
        }
        var image = new StoredVmImage
        {
            Id = Guid.NewGuid(), Name = add.Name, Tag = add.Version, NodeType = add.NodeType, Format = written.Format,
            Sha256 = written.Sha256, SizeBytes = written.SizeBytes, Source = add.Source, CreatedById = caller, CreatedAt = DateTimeOffset.UtcNow,
        };
        db.VmImages.Add(image);
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException)
        {
            // Another controller replica added the same name and version meanwhile.
            db.VmImages.Remove(image);
            Library.Delete(add.Name, add.Version);
            return new VmImageAdded(null, null, $"the VM image {add.Name}:{add.Version} was added by someone else meanwhile; look at it and retry", Conflict: true);
        }
        return new VmImageAdded(image, null, null);
    }

    private async Task<VmImageAdded?> CheckAsync(VmImageAddition add, CancellationToken ct)
    {
        if (!VmImages.IsValidReference($"{add.Name}:{add.Version}") || add.Name.Contains(':', StringComparison.Ordinal))
        {
            return new VmImageAdded(null, "name", $"'{add.Name}:{add.Version}' is not a VM image name: NAME (lower-case letters, digits, '.', '_', '-', " +
                "up to four '/'-separated parts) and VERSION (letters, digits, '.', '_', '-')");
        }
        if (add.Format is not null && !VmImageLibrary.Formats.Contains(add.Format))
        {
            return new VmImageAdded(null, "format", $"'{add.Format}' is not a VM disk format LTB takes: qcow2 or raw (or leave it out to read it from the disk)");
        }
        if (add.Sha256 is not null && (add.Sha256.Length != 64 || !add.Sha256.All(Uri.IsHexDigit)))
        {
            return new VmImageAdded(null, "sha256", "give the disk's SHA-256 as 64 hexadecimal digits (sha256sum prints it)");
        }
        var catalog = NodeTypeStore.Effective(await db.NodeTypes.AsNoTracking().ToListAsync(ct));
        if (catalog.Find(add.NodeType) is not { Runtime: NodeRuntime.Vm })
        {
            var vmTypes = string.Join(", ", catalog.Types.Where(t => t.Runtime == NodeRuntime.Vm).Select(t => t.Name).Take(8));
            return new VmImageAdded(null, "nodeType", $"'{add.NodeType}' is not a VM node type of the catalog (e.g. {vmTypes})");
        }
        return await db.VmImages.AnyAsync(i => i.Name == add.Name && i.Tag == add.Version, ct)
            ? new VmImageAdded(null, null, $"the VM image {add.Name}:{add.Version} exists already: delete it first, or give another version", Conflict: true)
            : null;
    }

    /// <summary>Removes the image's row and its disk (labs that run from it keep their open disk until they stop).</summary>
    public async Task DeleteAsync(StoredVmImage image, CancellationToken ct)
    {
        db.VmImages.Remove(image);
        await db.SaveChangesAsync(ct);
        Library.Delete(image.Name, image.Tag);
    }
}
