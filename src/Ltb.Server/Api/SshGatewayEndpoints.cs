using System.Net;
using Ltb.Server.Auth;
using Ltb.Server.Data;
using Ltb.Server.Hosting;
using Ltb.Server.Labs;
using Ltb.Server.SshGateway;
using Microsoft.EntityFrameworkCore;

namespace Ltb.Server.Api;

/// <summary>
/// The SSH gateway's key lookup (sshd's AuthorizedKeysCommand is a curl script that asks here). Internal: only
/// this server's gateway holds the secret it needs, and the route is not in the OpenAPI document.
/// </summary>
public static class SshGatewayEndpoints
{
    public static RouteGroupBuilder MapSshGatewayEndpoints(this RouteGroupBuilder api)
    {
        api.MapGet("/ssh-gateway/authorized-keys", AuthorizedKeysAsync).AllowAnonymous().ExcludeFromDescription();
        return api;
    }

    /// <summary>
    /// The authorized_keys line of the registered key with this fingerprint (<see cref="AuthorizedKeyLine"/>), or nothing
    /// (sshd then refuses the key): unknown key, locked user. The forwarding it allows is computed now, from the labs the
    /// key's owner may operate; a lab deployed later needs a new connection.
    /// </summary>
    private static async Task<IResult> AuthorizedKeysAsync(string? fingerprint, HttpContext http, GatewaySecret secret, LtbDbContext db,
        IResourceAuthorizer<Lab> authz, IAgentDirectory agents, LabStatusCache statuses, SshGatewayListener gateway, CancellationToken ct)
    {
        if (!secret.Matches(http.Request.Headers[Ltb.Contracts.SshGatewayConventions.SecretHeader].ToString()))
        {
            return Problems.Unauthorized("this address answers the server's own SSH gateway only");
        }
        var key = fingerprint is { Length: > 0 and <= 100 }
            ? await db.SshKeys.AsNoTracking().Include(k => k.User).FirstOrDefaultAsync(k => k.Fingerprint == fingerprint, ct)
            : null;
        if (key?.User is not { } user || UserViews.IsDisabled(user) || gateway.SessionCommand is not { } command)
        {
            return TypedResults.Text("", "text/plain");
        }
        var caller = await Caller.LoadAsync(db, user, key.Id, ct);
        var destinations = await ReachableAddressesAsync(caller, db, authz, agents, statuses, ct);
        return TypedResults.Text(AuthorizedKeyLine.For(command, key.Id, key.PublicKey, destinations) + "\n", "text/plain");
    }

    /// <summary>The management addresses of the nodes of running labs the caller may operate.</summary>
    private static async Task<List<IPAddress>> ReachableAddressesAsync(Caller caller, LtbDbContext db, IResourceAuthorizer<Lab> authz,
        IAgentDirectory agents, LabStatusCache statuses, CancellationToken ct)
    {
        var labs = await authz.Visible(db.Labs.AsNoTracking(), caller).Where(l => l.State == LabLifecycle.Running).ToListAsync(ct);
        var addresses = new List<IPAddress>();
        foreach (var lab in labs.Where(l => authz.Allows(caller, Operation.Update, l)))
        {
            var snapshot = await LabsEndpoints.SnapshotAsync(lab, db, agents, statuses, ct);
            foreach (var node in snapshot.Nodes)
            {
                foreach (var text in new[] { node.MgmtIpv4, node.MgmtIpv6 })
                {
                    if (text is not null && IPAddress.TryParse(text.Split('/')[0], out var address))
                    {
                        addresses.Add(address);
                    }
                }
            }
        }
        return addresses;
    }
}
