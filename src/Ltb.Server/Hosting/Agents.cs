using System.Collections.Concurrent;
using Ltb.Agent.Remote;
using Ltb.Server.Data;
using Ltb.Server.Labs;
using Ltb.Server.Labs.Spanning;
using Microsoft.EntityFrameworkCore;

namespace Ltb.Server.Hosting;

/// <summary>Finds the agent of a host. One implementation per kind of host; the server holds them all.</summary>
public interface IAgentDirectory
{
    /// <summary>The host's agent, or null when none is connected.</summary>
    ILabHostAgent? For(LabHost host);

    /// <summary>
    /// The agent of a lab: its host's, or for a lab that spans hosts (<see cref="Lab.LayoutJson"/>) a
    /// <see cref="SpanningAgent"/> over all of them. Null when the lab's (single) host has no connected agent.
    /// </summary>
    Task<ILabHostAgent?> ForLabAsync(LtbDbContext db, Lab lab, CancellationToken ct);
}

/// <summary>
/// The local host's agent runs in this process (<see cref="RuntimeAgent"/>); a remote host's agent is reached with a
/// <see cref="GrpcLabHostAgent"/> once it has registered (it has an address and a secret). Clients are kept per host
/// and replaced when the agent registers again (a new address or secret).
/// </summary>
public sealed class AgentDirectory(RuntimeAgent local, LtbServerOptions options, IServiceScopeFactory scopes) : IAgentDirectory, IDisposable
{
    private readonly ConcurrentDictionary<Guid, (string Address, string Secret, GrpcLabHostAgent Client)> _remote = new();
    private readonly Lazy<string?> _ca = new(() => options.AgentCaFile is { } file ? File.ReadAllText(file) : null);

    /// <summary>The folder where the in-process agent keeps one sub-folder per lab it created.</summary>
    public static string LocalStateDirectory(LtbServerOptions options) => Path.Combine(options.DataDirectory, "runtime");

    public ILabHostAgent? For(LabHost host)
    {
        if (host.IsLocal)
        {
            return local;
        }
        if (host.AgentSecret is not { } secret || string.IsNullOrEmpty(host.Address))
        {
            return null;
        }
        var entry = _remote.AddOrUpdate(host.Id,
            _ => (host.Address, secret, new GrpcLabHostAgent(host.Name, host.Address, secret, _ca.Value)),
            (_, old) =>
            {
                if (old.Address == host.Address && old.Secret == secret)
                {
                    return old;
                }
                // Calls still running on the old client finish with its channel's own failure; new ones use the new agent.
                old.Client.Dispose();
                return (host.Address, secret, new GrpcLabHostAgent(host.Name, host.Address, secret, _ca.Value));
            });
        return entry.Client;
    }

    public async Task<ILabHostAgent?> ForLabAsync(LtbDbContext db, Lab lab, CancellationToken ct)
    {
        if (LabLayout.Parse(lab.LayoutJson) is not { Spans: true } layout)
        {
            return await db.LabHosts.FirstOrDefaultAsync(h => h.Id == lab.HostId, ct) is { } host ? For(host) : null;
        }
        var ids = layout.Hosts.ToList();
        var hosts = await db.LabHosts.Where(h => ids.Contains(h.Id)).ToListAsync(ct);
        var vnis = await db.LabTunnels.Where(t => t.LabId == lab.Id).ToDictionaryAsync(t => t.LinkKey, t => t.Vni, StringComparer.Ordinal, ct);
        var labId = lab.Id;
        // The caller's store may be busy (a task runner saves progress while the agent works): the VNIs are freed in a scope of their own.
        return new SpanningAgent(layout, hosts.ToDictionary(h => h.Id, h => new SpanHost(h, For(h))), vnis, async c =>
        {
            await using var scope = scopes.CreateAsyncScope();
            await LabTunnelAllocator.FreeAsync(scope.ServiceProvider.GetRequiredService<LtbDbContext>(), labId, c);
        });
    }

    public void Dispose()
    {
        foreach (var (_, (_, _, client)) in _remote)
        {
            client.Dispose();
        }
    }
}
