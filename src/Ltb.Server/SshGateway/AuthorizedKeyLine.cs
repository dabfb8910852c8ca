using System.Net;
using System.Text;

namespace Ltb.Server.SshGateway;

/// <summary>
/// The authorized_keys line sshd receives for a registered key (sshd(8), "AUTHORIZED_KEYS FILE FORMAT"): everything off
/// (`restrict`), then a PTY, the session command naming the key, and local forwarding only to the management addresses
/// of nodes the key's owner may operate (`permitopen`); with no such address, no forwarding at all, because
/// `port-forwarding` without any `permitopen` would allow every destination.
/// </summary>
public static class AuthorizedKeyLine
{
    /// <param name="sessionCommand">The gateway's session script (a path the server chose: no user input).</param>
    /// <param name="publicKey">"ALGORITHM BASE64" as stored.</param>
    /// <param name="destinations">Management addresses the owner may reach (any port of each).</param>
    public static string For(string sessionCommand, Guid keyId, string publicKey, IEnumerable<IPAddress> destinations)
    {
        var line = new StringBuilder("restrict,pty");
        line.Append(",command=\"").Append(sessionCommand).Append(' ').Append(keyId.ToString("D")).Append('"');
        var permitted = destinations.Distinct().ToList();
        if (permitted.Count > 0)
        {
            line.Append(",port-forwarding");
            foreach (var address in permitted)
            {
                // An IPv6 address goes in brackets, as in the option's own syntax; an address has no quote or comma.
                var host = address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{address}]" : address.ToString();
                line.Append(",permitopen=\"").Append(host).Append(":*\"");
            }
        }
        return line.Append(' ').Append(publicKey).ToString();
    }
}
