using System.Collections.Concurrent;
using Ltb.Agent.Remote;
using Ltb.Server.Data;

namespace Ltb.Server.Hosting;

/// <summary>Finds the agent of a host. One implementation per kind of host; the server holds them all.</summary>
public interface IAgentDirectory
{
    /// <summary>The host's agent, or null when none is connected.</summary>
    ILabHostAgent? For(LabHost host);
}

/// <summary>
/// The local host's agent runs in this process (<see cref="RuntimeAgent"/>); a remote host's agent is reached with a
/// <see cref="GrpcLabHostAgent"/> once it has registered (it has an address and a secret). Clients are kept per host
/// and replaced when the agent registers again (a new address or secret).
/// </summary>
public sealed class AgentDirectory(RuntimeAgent local, LtbServerOptions options) : IAgentDirectory, IDisposable
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

    public void Dispose()
    {
        foreach (var (_, (_, _, client)) in _remote)
        {
            client.Dispose();
        }
    }
}
