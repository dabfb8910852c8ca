using Ltb.Runtime.Plan;

namespace Ltb.Runtime.Labs;

/// <summary>A lab's management network as the host has it: its id (for removal), its name and its subnets.</summary>
public sealed record MgmtNetworkInfo(string Id, string Name, IReadOnlyList<string> Subnets);

/// <summary>
/// The host side of a lab's management network (today a Docker bridge network: <see cref="MgmtNetworks"/>). Node
/// drivers attach nodes to it; the orchestration creates, lists and removes it through this seam, which the runtime's
/// fake-host tests replace.
/// </summary>
public interface IMgmtNetworks
{
    /// <summary>Creates the lab's network (a pinned subnet, or the first free /24 of the pool) and returns it without node addresses.</summary>
    Task<MgmtState> CreateAsync(LabPlan plan, DeployOptions options, CancellationToken ct);

    /// <summary>Refuses a pinned subnet or gateway that overlaps what the host uses, naming what it overlaps.</summary>
    Task CheckPinnedAsync(LabPlan plan, CancellationToken ct);

    /// <summary>The lab's networks (by label).</summary>
    Task<IReadOnlyList<MgmtNetworkInfo>> ListAsync(string lab, CancellationToken ct);

    /// <summary>The labs that have management networks on this host (`ltb host prune` looks for leftovers).</summary>
    Task<IReadOnlyList<string>> ListLabNamesAsync(CancellationToken ct) => Task.FromResult<IReadOnlyList<string>>([]);

    /// <summary>Removes one network; an absent one is no error.</summary>
    Task RemoveAsync(string id, CancellationToken ct);
}
