using Ltb.Server.Data;
using Ltb.Server.Labs.Placement;
using Ltb.Server.Policy;
using Ltb.Topology.Catalog;
using Microsoft.EntityFrameworkCore;

namespace Ltb.Server.Catalog;

/// <summary>
/// Which lab hosts can run a node type (the catalog's <c>hosts</c>): the hosts whose agents run its kind, by the same
/// rule placement applies (<see cref="HostOffer.RunsKind"/>: a host that reported no kinds is assumed to run all), with
/// whether the host holds the type's container image (the local host's engine, a remote agent's report; null when the
/// host reported none, or for VM types, whose images live in the host's VM image library) and whether it has KVM.
/// </summary>
public sealed class NodeTypeHosts(LtbDbContext db, LocalHostImages localImages)
{
    /// <summary>Reads the hosts once; the function answers for any type of the catalog.</summary>
    public async Task<Func<NodeType, IReadOnlyList<NodeTypeHostDto>>> LoadAsync(CancellationToken ct)
    {
        var hosts = await db.LabHosts.AsNoTracking().OrderBy(h => h.Name).ToListAsync(ct);
        var local = hosts.Any(h => h.IsLocal) ? await localImages.ListAsync(ct) : null;
        var offers = hosts.Select(h =>
        {
            var offer = HostOffer.From(h, mayPlace: true, default);
            return (Host: h, Offer: h.IsLocal ? offer with { Images = local } : offer);
        }).ToList();
        return type => offers.Where(o => o.Offer.RunsKind(type.Name))
            .Select(o => new NodeTypeHostDto(o.Host.Id, o.Host.Name, o.Host.State.ToString().ToLowerInvariant(),
                type.Runtime != NodeRuntime.Container || type.Image is null || o.Offer.Images is null ? null : o.Offer.HasImage(type.Image),
                o.Host.Kvm))
            .ToList();
    }
}
