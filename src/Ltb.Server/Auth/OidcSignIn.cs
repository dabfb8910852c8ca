using System.Security.Claims;
using System.Text.RegularExpressions;
using Ltb.Server.Api;
using Ltb.Server.Audit;
using Ltb.Server.Data;
using Ltb.Server.Hosting;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;

namespace Ltb.Server.Auth;

/// <summary>
/// Optional sign-in through an OpenID Connect provider. The browser goes to /api/v1/auth/oidc/login, signs in at the
/// provider, comes back to the callback (ASP.NET's OpenID Connect handler checks state, nonce, PKCE and the id_token's
/// signature), and /api/v1/auth/oidc/complete turns the provider's identity into an LTB account and session token:
/// the account is linked by the provider's subject, its roles follow the provider's groups on every sign-in.
/// </summary>
public static partial class OidcSignIn
{
    public const string Scheme = "oidc";
    public const string Provider = "oidc";

    /// <summary>Holds the provider's identity for the few seconds between the callback and /complete.</summary>
    private const string FlowScheme = "oidc-flow";

    public static AuthenticationBuilder AddLtbOidc(this AuthenticationBuilder auth, LtbOidcOptions oidc) => auth
        .AddCookie(FlowScheme, o =>
        {
            o.Cookie.Name = "ltb.oidc";
            o.Cookie.HttpOnly = true;
            o.Cookie.SameSite = SameSiteMode.Lax;
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            o.ExpireTimeSpan = TimeSpan.FromMinutes(5);
        })
        .AddOpenIdConnect(Scheme, o =>
        {
            o.Authority = oidc.Authority;
            o.ClientId = oidc.ClientId;
            o.ClientSecret = oidc.ClientSecret;
            o.RequireHttpsMetadata = oidc.RequireHttpsMetadata;
            o.ResponseType = OpenIdConnectResponseType.Code;
            // A redirect rather than a form post: works for the CLI's and tests' HTTP clients as for browsers.
            o.ResponseMode = OpenIdConnectResponseMode.Query;
            o.UsePkce = true;
            o.SignInScheme = FlowScheme;
            o.CallbackPath = "/api/v1/auth/oidc/callback";
            o.MapInboundClaims = false;
            o.SaveTokens = false;
            o.GetClaimsFromUserInfoEndpoint = false;
            o.Scope.Clear();
            o.Scope.Add("openid");
            o.Scope.Add("profile");
            o.Scope.Add("email");
            // Over plain HTTP (a loopback test provider, a server behind a TLS proxy) the cookies must still come back.
            o.CorrelationCookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            o.CorrelationCookie.SameSite = SameSiteMode.Lax;
            o.NonceCookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            o.NonceCookie.SameSite = SameSiteMode.Lax;
        });

    public static RouteGroupBuilder MapOidcEndpoints(this RouteGroupBuilder api)
    {
        var oidc = api.MapGroup("/auth/oidc").WithTags("Authentication").AllowAnonymous();
        oidc.MapGet("/login", () => TypedResults.Challenge(
                new AuthenticationProperties { RedirectUri = "/api/v1/auth/oidc/complete" }, [Scheme]))
            .WithName("StartOidcSignIn").RequireRateLimiting(RateLimits.Login)
            .WithSummary("Sign in at the OpenID Connect provider (a browser redirect)");
        oidc.MapGet("/complete", CompleteAsync).WithName("CompleteOidcSignIn")
            .WithSummary("After the provider: the LTB session token of the provider's user (shown once)");
        return api;
    }

    private static async Task<Results<Ok<LoginResponse>, ProblemHttpResult>> CompleteAsync(HttpContext http,
        UserManager<LtbUser> users, LtbDbContext db, AuditLog audit, LtbServerOptions options, CancellationToken ct)
    {
        var (user, problem) = await AccountAfterProviderAsync(http, users, db, ct);
        if (user is null)
        {
            return problem!;
        }
        var issued = IssueSession(db, audit, options, user);
        await db.SaveChangesAsync(ct);
        return TypedResults.Ok(new LoginResponse(issued.Secret, issued.Token.ExpiresAt!.Value, await UserViews.ToDtoAsync(db, user, ct)));
    }

    /// <summary>A session token for the provider's user (audited as a sign-in); the caller saves the changes.</summary>
    internal static ApiTokens.Issued IssueSession(LtbDbContext db, AuditLog audit, LtbServerOptions options, LtbUser user)
    {
        var issued = ApiTokens.Issue(db, user.Id, ApiTokenKind.Session, "oidc", DateTimeOffset.UtcNow + options.SessionLifetime);
        audit.RecordAs(user.Id, user.UserName!, AuditActions.Login, "user", user.Id, "OpenID Connect");
        return issued;
    }

    /// <summary>
    /// The LTB account of the identity the provider just vouched for (the flow cookie, read once and dropped): linked by
    /// subject, created on the first sign-in, its roles and groups set from the provider's groups; or the problem that
    /// stops the sign-in. Shared by the API's /complete and the web UI's browser sign-in (OidcBrowserSignIn).
    /// </summary>
    internal static async Task<(LtbUser? User, ProblemHttpResult? Problem)> AccountAfterProviderAsync(HttpContext http,
        UserManager<LtbUser> users, LtbDbContext db, CancellationToken ct)
    {
        var audit = http.RequestServices.GetRequiredService<AuditLog>();
        var options = http.RequestServices.GetRequiredService<LtbServerOptions>();
        var external = await http.AuthenticateAsync(FlowScheme);
        await http.SignOutAsync(FlowScheme);
        if (!external.Succeeded || external.Principal.FindFirstValue("sub") is not { Length: > 0 } subject)
        {
            return (null, Problems.Unauthorized("no sign-in at the identity provider in progress; start at /api/v1/auth/oidc/login"));
        }
        var oidc = options.Oidc!;
        var principal = external.Principal;
        var groups = principal.FindAll(oidc.GroupsClaim).Select(c => c.Value.TrimStart('/')).Distinct().ToList();

        var user = await users.FindByLoginAsync(Provider, subject);
        if (user is null)
        {
            var name = UserNameFrom(principal.FindFirstValue("preferred_username") ?? principal.FindFirstValue("email") ?? subject);
            if (name is null || await users.FindByNameAsync(name) is not null)
            {
                return (null, Problems.Conflict($"the provider's user name '{principal.FindFirstValue("preferred_username")}' is taken by " +
                    "a local account or is not a valid LTB user name; ask an admin"));
            }
            user = new LtbUser
            {
                UserName = name,
                DisplayName = principal.FindFirstValue("name") ?? name,
                Email = principal.FindFirstValue("email"),
                CreatedAt = DateTimeOffset.UtcNow,
            };
            // No password: the account signs in through the provider only.
            var created = await users.CreateAsync(user);
            if (!created.Succeeded)
            {
                return (null, Problems.Conflict(string.Join(" ", created.Errors.Select(e => e.Description))));
            }
            await users.AddLoginAsync(user, new UserLoginInfo(Provider, subject, "OpenID Connect"));
            audit.RecordAs(user.Id, name, AuditActions.Created, "user", user.Id, "from the identity provider");
        }
        // Wrong local passwords lock password sign-in only; the provider checked who this is.
        if (UserViews.IsDisabled(user))
        {
            return (null, Problems.Unauthorized("the account is locked; ask an admin"));
        }

        await ApplyRolesAsync(users, user, oidc, groups);
        if (oidc.SyncGroups)
        {
            await JoinGroupsAsync(db, user, groups.Where(g => !oidc.RoleGroups.ContainsKey(g)), ct);
        }
        return (user, null);
    }

    /// <summary>The provider is the source of truth for the roles of its users: they are set anew at each sign-in.</summary>
    private static async Task ApplyRolesAsync(UserManager<LtbUser> users, LtbUser user, LtbOidcOptions oidc, List<string> groups)
    {
        var wanted = groups.Where(oidc.RoleGroups.ContainsKey).Select(g => oidc.RoleGroups[g]).Where(LtbRoles.IsKnown).ToHashSet();
        if (wanted.Count == 0)
        {
            wanted.Add(LtbRoles.Student);
        }
        var current = await users.GetRolesAsync(user);
        await users.RemoveFromRolesAsync(user, current.Except(wanted));
        await users.AddToRolesAsync(user, wanted.Except(current));
    }

    /// <summary>Memberships are added, not removed: groups are also managed in LTB by instructors.</summary>
    private static async Task JoinGroupsAsync(LtbDbContext db, LtbUser user, IEnumerable<string> names, CancellationToken ct)
    {
        foreach (var name in names.Where(n => Validation.GroupName().IsMatch(n)))
        {
            var group = await db.Groups.FirstOrDefaultAsync(g => g.Name == name, ct);
            if (group is null)
            {
                group = new Data.Group { Id = Guid.NewGuid(), Name = name, Description = "from the identity provider", CreatedAt = DateTimeOffset.UtcNow };
                db.Groups.Add(group);
            }
            if (!await db.GroupMembers.AnyAsync(m => m.GroupId == group.Id && m.UserId == user.Id, ct))
            {
                db.GroupMembers.Add(new GroupMember { GroupId = group.Id, UserId = user.Id, AddedAt = DateTimeOffset.UtcNow });
            }
        }
        await db.SaveChangesAsync(ct);
    }

    /// <summary>The provider's name made an LTB user name (lower case; an e-mail's local part), or null.</summary>
    private static string? UserNameFrom(string raw)
    {
        var name = Invalid().Replace(raw.Split('@')[0].ToLowerInvariant(), "-");
        return Validation.UserName().IsMatch(name) ? name : null;
    }

    [GeneratedRegex("[^a-z0-9._-]")]
    private static partial Regex Invalid();
}
