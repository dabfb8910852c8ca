namespace Ltb.Contracts;

/// <summary>
/// A disk image of the controller's VM image library. Topologies name it <see cref="Reference"/> (NAME:VERSION) as a VM
/// node's image; agents fetch it from the controller and cache it, verified by <see cref="Sha256"/>.
/// </summary>
/// <param name="Format">qcow2 or raw.</param>
/// <param name="Sha256">The disk's SHA-256, lower-case hex.</param>
/// <param name="Source">upload or path (copied from a path on the controller's host).</param>
public sealed record VmImageDto(Guid Id, string Name, string Version, string Reference, string NodeType, string Format, string Sha256,
    long SizeBytes, string Source, DateTimeOffset CreatedAt);

/// <summary>Adds a VM image from a file on the controller's host (admin): the file is copied into the library and checked.</summary>
/// <param name="Path">An absolute path on the controller's host.</param>
/// <param name="Format">qcow2 or raw; null: read from the disk.</param>
/// <param name="Sha256">When given, the copy must have this checksum.</param>
public sealed record ImportVmImageRequest(string Name, string Version, string NodeType, string Path, string? Format = null, string? Sha256 = null);
