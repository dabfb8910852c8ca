using System.Net;
using System.Security.Claims;
using System.Text.Encodings.Web;
using Ltb.Contracts;
using Ltb.Server.Data;
using Ltb.Server.SshGateway;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Logging;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Ltb.Server.Auth;

/// <summary>
/// "Authorization: LtbGateway KEYID SECRET", sent by `ltb gateway session` (run by sshd for a user whose key sshd has
/// just verified): the caller is the owner of SSH key KEYID, with their roles and groups, as long as the secret is this
/// server's <see cref="GatewaySecret"/>. Only what a gateway session needs is open to it (<see cref="Allows"/>): the
/// lab list, one's own account, and the console and exec WebSockets, where every lab right is checked as for any caller.
/// The SSH client's address (header <see cref="SshGatewayConventions.ClientHeader"/>) becomes the request's, for the audit log.
/// </summary>
internal sealed class GatewayAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, LtbDbContext db, GatewaySecret secret)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    /// <summary>Marks a request as the gateway's (HttpContext.Items): the audit log says so in what it records.</summary>
    public const string ViaGateway = "ltb.via-ssh-gateway";

    public static bool IsGatewayRequest(HttpContext context) =>
        context.Request.Headers.Authorization.ToString().StartsWith(SshGatewayConventions.Scheme + " ", StringComparison.Ordinal);

    /// <summary>GET /api/v1/labs, GET /api/v1/me, and GET .../nodes/{node}/console/ws or .../exec/ws.</summary>
    public static bool Allows(HttpRequest request)
    {
        if (!HttpMethods.IsGet(request.Method))
        {
            return false;
        }
        var parts = request.Path.Value?.Split('/', StringSplitOptions.RemoveEmptyEntries) ?? [];
        return parts is ["api", "v1", "labs"] or ["api", "v1", "me"]
            or ["api", "v1", "labs", _, "nodes", _, "console" or "exec", "ws"];
    }

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var words = Request.Headers.Authorization.ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (words is not [SshGatewayConventions.Scheme, var keyText, var presented] || !Guid.TryParse(keyText, out var keyId) || !secret.Matches(presented))
        {
            return AuthenticateResult.Fail("the gateway credentials are not this server's");
        }
        if (!Allows(Request))
        {
            return AuthenticateResult.Fail("an SSH gateway session may only open consoles and commands");
        }
        var ct = Context.RequestAborted;
        var key = await db.SshKeys.AsNoTracking().Include(k => k.User).FirstOrDefaultAsync(k => k.Id == keyId, ct);
        if (key?.User is not { } user || Api.UserViews.IsDisabled(user))
        {
            return AuthenticateResult.Fail("the SSH key was removed, or its user is locked");
        }
        var caller = await Caller.LoadAsync(db, user, key.Id, ct);
        Context.Features.Set(caller);
        Context.Items[ViaGateway] = true;
        if (IPAddress.TryParse(Request.Headers[SshGatewayConventions.ClientHeader].ToString(), out var client))
        {
            Context.Connection.RemoteIpAddress = client;
        }
        var claims = new List<Claim> { new(ClaimTypes.NameIdentifier, caller.UserId.ToString()), new(ClaimTypes.Name, caller.UserName) };
        claims.AddRange(caller.Roles.Select(r => new Claim(ClaimTypes.Role, r)));
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(new ClaimsIdentity(claims, Scheme.Name)), Scheme.Name));
    }
}
