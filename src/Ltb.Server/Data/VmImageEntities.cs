namespace Ltb.Server.Data;

/// <summary>How a VM image came into the controller's library.</summary>
public enum VmImageSource
{
    /// <summary>Uploaded through the API (`ltb image vm add FILE`).</summary>
    Upload = 0,
    /// <summary>Copied from a path on the controller's host (`ltb image vm add --path`).</summary>
    Path = 1,
}

/// <summary>
/// A disk image of the controller's VM image library (its file: <c>DATA/vm-images/NAME/VERSION/disk.FORMAT</c>,
/// <c>Catalog/VmImageStore</c>). Labs name it <c>NAME:VERSION</c> as a VM node's image; agents fetch it from the
/// controller and cache it, verified by <see cref="Sha256"/>.
/// </summary>
public sealed class StoredVmImage
{
    public Guid Id { get; set; }
    /// <summary>The image's name as topologies write it (e.g. "debian" or "acme/vyos"); unique with <see cref="Tag"/>.</summary>
    public string Name { get; set; } = "";
    /// <summary>The image's version (the part after ':' in a reference; "latest" when a topology writes none).</summary>
    public string Tag { get; set; } = "";
    /// <summary>The VM node type it is for (a catalog type with runtime vm, e.g. generic_vm).</summary>
    public string NodeType { get; set; } = "";
    /// <summary>qcow2 or raw.</summary>
    public string Format { get; set; } = "";
    /// <summary>SHA-256 of the disk, lower-case hex.</summary>
    public string Sha256 { get; set; } = "";
    public long SizeBytes { get; set; }
    public VmImageSource Source { get; set; }
    public Guid? CreatedById { get; set; }
    public DateTimeOffset CreatedAt { get; set; }

    public string Reference => $"{Name}:{Tag}";
}
