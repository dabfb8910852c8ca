using Ltb.Runtime.Nodes;
using Ltb.Topology.Catalog;
using Microsoft.Extensions.Hosting;

namespace Ltb.Server.Consoles;

/// <summary>
/// The console sessions of this server process (one place for consoles' lifetimes): at most <see cref="MaxPerUser"/>
/// per user; a session whose owner's connection dropped waits <see cref="Grace"/> for a reattach; one without input or
/// output for <see cref="IdleTimeout"/> ends; a session ends with its shell. Ending a session kills its shell.
/// </summary>
public sealed class ConsoleSessions(TimeProvider clock) : BackgroundService
{
    public const int MaxPerUser = 8;
    public static readonly TimeSpan Grace = TimeSpan.FromSeconds(60);
    public static readonly TimeSpan IdleTimeout = TimeSpan.FromMinutes(30);

    /// <summary>The login shell of a node whose type says <c>console: shell</c>: bash where the image has it, else sh.</summary>
    public static readonly IReadOnlyList<string> LoginShell =
        ["/bin/sh", "-c", "if command -v bash >/dev/null 2>&1; then exec bash -l; else exec sh -l; fi"];

    private readonly Lock _gate = new();
    private readonly Dictionary<Guid, ConsoleSession> _sessions = [];
    private readonly Dictionary<Guid, int> _openingPerUser = [];

    public ConsoleSession? Find(Guid id)
    {
        lock (_gate)
        {
            return _sessions.GetValueOrDefault(id);
        }
    }

    /// <summary>The sessions on a node, newest first.</summary>
    public IReadOnlyList<ConsoleSession> OfNode(Guid labId, string node)
    {
        lock (_gate)
        {
            return [.. _sessions.Values.Where(s => s.LabId == labId && s.Node == node).OrderByDescending(s => s.StartedAt)];
        }
    }

    /// <summary>
    /// Opens a session with <paramref name="open"/> (the node's interactive exec), or null when the user holds
    /// <see cref="MaxPerUser"/> already (counting the ones being opened). <paramref name="target"/>: what <paramref name="open"/>
    /// connects to (Consoles/Targets), for the session list.
    /// </summary>
    public async Task<ConsoleSession?> OpenAsync(Guid userId, string userName, Guid labId, string node, Func<Task<IExecSession>> open,
        ConsoleType target = ConsoleType.Shell)
    {
        lock (_gate)
        {
            if (_sessions.Values.Count(s => s.UserId == userId) + _openingPerUser.GetValueOrDefault(userId) >= MaxPerUser)
            {
                return null;
            }
            _openingPerUser[userId] = _openingPerUser.GetValueOrDefault(userId) + 1;
        }
        try
        {
            var session = new ConsoleSession(await open(), clock, userId, userName, labId, node, target);
            lock (_gate)
            {
                _sessions[session.Id] = session;
            }
            session.Start(Ended);
            return session;
        }
        finally
        {
            lock (_gate)
            {
                if ((_openingPerUser[userId] -= 1) == 0)
                {
                    _openingPerUser.Remove(userId);
                }
            }
        }
    }

    private void Ended(ConsoleSession session)
    {
        lock (_gate)
        {
            _sessions.Remove(session.Id);
        }
        // The shell ended: its exec is released (a no-op kill).
        _ = session.DisposeAsync().AsTask();
    }

    /// <summary>Ends the sessions past their grace period or idle timeout, every few seconds.</summary>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(5), clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await EndAsync(s => clock.GetUtcNow() - s.DetachedSince > Grace || clock.GetUtcNow() - s.LastActivity > IdleTimeout);
            }
        }
        catch (OperationCanceledException)
        {
            // Shutting down.
        }
        await EndAsync(_ => true);
    }

    private async Task EndAsync(Func<ConsoleSession, bool> which)
    {
        ConsoleSession[] ending;
        lock (_gate)
        {
            ending = [.. _sessions.Values.Where(which)];
        }
        foreach (var session in ending)
        {
            await session.DisposeAsync();
        }
    }
}
