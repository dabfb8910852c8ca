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
    /// How many times its CPUs a host's reported CPU count is worth to placement: CPU limits of containers share the CPUs
    /// (an idle router takes next to nothing), memory is not shared. An admin's override is taken as it is.
    /// </summary>
    public const int CpuOvercommit = 4;

    /// <summary>The override when an admin set one, else the reported figure (CPUs: times <see cref="CpuOvercommit"/>).</summary>
    public static CpuMemory EffectiveCapacity(LabHost host) =>
        new(host.CpusOverride ?? host.Cpus * CpuOvercommit, host.MemoryBytesOverride ?? host.MemoryBytes);

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
