using System.Collections.Concurrent;
using Ltb.Runtime.Status;

namespace Ltb.Server.Usage;

/// <summary>
/// The latest resource sample of each host (<see cref="UsageCollector"/> fills it every <c>UsageInterval</c>): what the
/// usage endpoints and /metrics read, so that a request never waits for an agent and live values are a few seconds old
/// at most. Per process (each replica samples on its own), bounded by the number of hosts.
/// </summary>
public sealed class UsageBoard
{
    private readonly ConcurrentDictionary<Guid, (string Name, HostUsage Usage)> _hosts = new();

    public void Record(Guid host, string name, HostUsage usage) => _hosts[host] = (name, usage);

    public void Forget(Guid host) => _hosts.TryRemove(host, out _);

    public HostUsage? Host(Guid host) => _hosts.TryGetValue(host, out var h) ? h.Usage : null;

    public ICollection<Guid> HostIds => _hosts.Keys;

    /// <summary>Every host's latest sample with its id and name.</summary>
    public IEnumerable<(Guid Id, string Name, HostUsage Usage)> All => _hosts.Select(h => (h.Key, h.Value.Name, h.Value.Usage));

    /// <summary>Every host's latest sample with the host's name, in name order (what /metrics labels them with).</summary>
    public IEnumerable<(string Name, HostUsage Usage)> Named => _hosts.Values.OrderBy(h => h.Name, StringComparer.Ordinal);

    /// <summary>The nodes of a lab (by runtime name) on the given hosts, with the time of each host's sample.</summary>
    public IReadOnlyList<(Guid Host, DateTimeOffset At, NodeUsage Node)> Lab(string runtimeName, IEnumerable<Guid> hosts) =>
        hosts.Distinct().Select(h => (Id: h, Usage: Host(h))).Where(h => h.Usage is not null)
            .SelectMany(h => h.Usage!.Labs.Where(l => l.Lab == runtimeName).SelectMany(l => l.Nodes).Select(n => (h.Id, h.Usage!.At, n)))
            .ToList();
}
