using Ltb.Server.Data;

namespace Ltb.Server.Labs.Placement;

/// <summary>
/// A host as placement sees it at one moment: whether it takes new labs (state, and whether the caller may place labs on
/// it), what it can run (kinds, images; null: the host did not report them, and nothing is assumed missing), its
/// effective capacity (an admin's override, else what the agent reported) and what the labs already on it demand.
/// <paramref name="CanSpan"/>: the host can carry part of a lab that spans hosts (a remote host whose agent reported a
/// tunnel address for VXLAN; the in-process local host has none).
/// </summary>
public sealed record HostOffer(Guid Id, string Name, LabHostState State, bool MayPlace, IReadOnlySet<string>? Kinds,
    IReadOnlySet<string>? Images, CpuMemory Capacity, CpuMemory Allocated, bool CanSpan = true)
{
    public CpuMemory Free => Capacity - Allocated;

    /// <summary>
    /// How many times its CPUs a host's reported CPU count is worth to placement by default (an admin sets another per
    /// host: <see cref="LabHost.CpuOvercommit"/>). Every node runs under a CPU limit and placement counts it, but a limit
    /// is a ceiling shared by time slicing, not a reservation: an idle router or Linux node takes next to nothing.
    /// Chosen with the memory default so that a 250-node chain of `linux` nodes (0.5 CPU each) fits a 2-core host.
    /// </summary>
    public const int CpuOvercommit = 128;

    /// <summary>
    /// How many times its memory a host's reported memory is worth to placement by default (per host:
    /// <see cref="LabHost.MemoryOvercommit"/>). Every node runs under a hard memory limit, sized for the busiest its
    /// image gets (the `linux` type's 128 MiB holds FRR under load; an idle Linux node uses 1-5 MiB), so the limits of a
    /// host's nodes together may exceed its memory: 2 lets a 250-node chain of `linux` nodes (31 GiB of limits, ~1 GiB
    /// used) fit a 24 GiB host. A node that outgrows its own limit is killed alone (OOM in its cgroup).
    /// </summary>
    public const double MemoryOvercommit = 2;

    /// <summary>
    /// The override when an admin set one (taken as it is), else the reported figure times the host's overcommit
    /// (the admin's, else <see cref="CpuOvercommit"/> / <see cref="MemoryOvercommit"/>).
    /// </summary>
    public static CpuMemory EffectiveCapacity(LabHost host) => new(
        host.CpusOverride ?? host.Cpus * (host.CpuOvercommit ?? CpuOvercommit),
        host.MemoryBytesOverride ?? (long)(host.MemoryBytes * (host.MemoryOvercommit ?? MemoryOvercommit)));

    public static HostOffer From(LabHost host, bool mayPlace, CpuMemory allocated) => new(host.Id, host.Name, host.State, mayPlace,
        host.Kinds.Count == 0 ? null : host.Kinds.ToHashSet(StringComparer.Ordinal),
        host.Images.Count == 0 ? null : host.Images.ToHashSet(StringComparer.Ordinal),
        EffectiveCapacity(host), allocated, !host.IsLocal && !string.IsNullOrEmpty(host.TunnelAddress));

    /// <summary>Whether the host holds an image; an image without a tag is ":latest" to Docker.</summary>
    public bool HasImage(string image) => Images is null || Images.Contains(image) || (!HasTag(image) && Images.Contains(image + ":latest"));

    public bool RunsKind(string kind) => Kinds is null || Kinds.Contains(kind);

    private static bool HasTag(string image) =>
        image.Contains('@', StringComparison.Ordinal) || image.LastIndexOf(':') > image.LastIndexOf('/');
}
