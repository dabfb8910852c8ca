using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using Ltb.Topology.Catalog;

namespace Ltb.Server.Consoles;

public enum ConsoleMode { Interactive, Watch }

/// <summary>
/// What a ticket was issued for, after the caller's rights were checked: who, which node, which mode, which session; for a
/// new session the user's choice of target (null: the node type's) and login (null: the node type's credentials).
/// Display: a ticket for the node's VNC display WebSocket (POST .../vnc/tickets), which the console WebSocket refuses.
/// </summary>
public sealed record ConsoleTicket(Guid UserId, string UserName, Guid LabId, string Node, ConsoleMode Mode, Guid? Session, DateTimeOffset ExpiresAt,
    ConsoleType? Target = null, ConsoleLogin? Login = null, bool Display = false);

/// <summary>A user's own login for an ssh console: in memory with its ticket only; its text never shows the password.</summary>
public sealed record ConsoleLogin(string Username, string Password)
{
    public Credentials ToCredentials() => new(Username, Password);

    public override string ToString() => $"ConsoleLogin {{ Username = {Username} }}";
}

/// <summary>
/// Short-lived, single-use tickets for the console and display WebSockets: a browser cannot set a bearer header, and a long-lived
/// token must never be in a URL (proxies and histories log URLs). A ticket is 256 random bits, kept in memory only,
/// valid for <see cref="Lifetime"/> and for one connection.
/// </summary>
public sealed class ConsoleTickets(TimeProvider clock)
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(30);

    /// <summary>Unused tickets one user may hold at once: issuing is cheap, memory is not unbounded.</summary>
    public const int MaxPerUser = 32;

    private readonly ConcurrentDictionary<string, ConsoleTicket> _tickets = new(StringComparer.Ordinal);

    /// <summary>A new ticket, or null when the user holds <see cref="MaxPerUser"/> unused ones.</summary>
    public (string Ticket, DateTimeOffset ExpiresAt)? Issue(Guid userId, string userName, Guid labId, string node, ConsoleMode mode, Guid? session,
        ConsoleType? target = null, ConsoleLogin? login = null, bool display = false)
    {
        var now = clock.GetUtcNow();
        foreach (var (key, expired) in _tickets.Where(t => t.Value.ExpiresAt <= now))
        {
            _tickets.TryRemove(new KeyValuePair<string, ConsoleTicket>(key, expired));
        }
        if (_tickets.Values.Count(t => t.UserId == userId) >= MaxPerUser)
        {
            return null;
        }
        var ticket = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        var expiresAt = now + Lifetime;
        _tickets[ticket] = new ConsoleTicket(userId, userName, labId, node, mode, session, expiresAt, target, login, display);
        return (ticket, expiresAt);
    }

    /// <summary>The ticket's grant, once: a used, expired or unknown ticket is null.</summary>
    public ConsoleTicket? Redeem(string ticket) =>
        _tickets.TryRemove(ticket, out var grant) && grant.ExpiresAt > clock.GetUtcNow() ? grant : null;
}
