namespace Ltb.Contracts;

/// <summary>
/// A node's device information (GET /api/v1/labs/{lab}/nodes/{node}/info, docs/api.md "Device information"): what the
/// catalog says of its type, what the node itself says of its software (the type's <c>show-version</c> command), what its
/// host says (image and digests, uptime, disk, interfaces), its topology group and labels, and its configurations.
/// </summary>
/// <param name="DeviceType">The catalog type the device was recognised as: its kind's, or, for a generic kind (linux)
/// running a catalog type's image, that type's (an FRR image under kind linux is an frr device).</param>
/// <param name="Version">The version found in the device's own answer (<see cref="VersionOutput"/>); null when it gave none.</param>
/// <param name="VersionOutput">The first lines of the type's show-version command as the device printed them (4 KiB at most).</param>
/// <param name="VersionError">Why the device was not asked or did not answer (no such command for the type, the node not running...).</param>
/// <param name="StartupConfig">The startup configuration the node was given (256 KiB at most); null: it had none.</param>
/// <param name="RunningConfig">With <c>?config=true</c>: the type's show-config command's output, bounded like exec output.</param>
public sealed record NodeInfoDto(
    Guid Lab,
    string LabName,
    string Node,
    string Kind,
    string DeviceType,
    string Vendor,
    string Os,
    IReadOnlyList<string> CatalogVersions,
    string? Version,
    string? VersionOutput,
    string? VersionError,
    string Runtime,
    string State,
    string? Host,
    string Image,
    string? ImageId,
    IReadOnlyList<string> ImageDigests,
    IReadOnlyList<string> Groups,
    IReadOnlyDictionary<string, string> Labels,
    IReadOnlyList<string> Tags,
    DateTimeOffset? StartedAt,
    long? UptimeSeconds,
    long? DiskBytes,
    IReadOnlyList<NodeInterfaceDto> Interfaces,
    string? StartupConfig,
    bool StartupConfigTruncated,
    string? RunningConfig = null,
    bool RunningConfigTruncated = false,
    string? RunningConfigError = null);

/// <summary>An interface of a node: addresses with prefix length, the kernel's operational state, counters, the link's other end.</summary>
public sealed record NodeInterfaceDto(string Name, string? Mac, int Mtu, string OperState, bool AdminUp, bool Carrier,
    IReadOnlyList<string> Addresses, string? Peer, InterfaceCountersDto? Counters);

/// <summary>Traffic counters of an interface since it was created.</summary>
public sealed record InterfaceCountersDto(ulong RxBytes, ulong RxPackets, ulong RxErrors, ulong RxDropped,
    ulong TxBytes, ulong TxPackets, ulong TxErrors, ulong TxDropped);
