using System.Net;
using Ltb.Server.Api;
using Ltb.Server.Hosting;
using Ltb.Server.Tests.Infrastructure;

namespace Ltb.Server.Tests.Api;

/// <summary>An LTB server whose sign-in goes through the loopback test identity provider.</summary>
public class OidcServer : SqliteServer
{
    /// <summary>The provider's name on the web UI's sign-in button.</summary>
    public const string ProviderName = "Test SSO";

    public TestIdentityProvider Provider { get; private set; } = null!;

    protected override async Task ConfigureAsync(LtbServerOptions options)
    {
        await base.ConfigureAsync(options);
        Provider = await TestIdentityProvider.StartAsync();
        options.Oidc = new LtbOidcOptions
        {
            Authority = Provider.Issuer,
            ClientId = TestIdentityProvider.ClientId,
            ClientSecret = TestIdentityProvider.ClientSecret,
            RequireHttpsMetadata = false,
            DisplayName = ProviderName,
        };
        options.Oidc.RoleGroups["ltb-instructors"] = "instructor";
        options.Oidc.RoleGroups["ltb-admins"] = "admin";
    }

    protected override async ValueTask DisposeExtrasAsync()
    {
        if (Provider is not null)
        {
            await Provider.DisposeAsync();
        }
    }

    /// <summary>Follows the redirects as a browser would (with cookies) and returns the final answer.</summary>
    public async Task<HttpResponseMessage> SignInAsync()
    {
        var handler = new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = true };
        using var browser = new HttpClient(handler) { BaseAddress = BaseAddress };
        return await browser.GetAsync("/api/v1/auth/oidc/login");
    }
}

/// <summary>OpenID Connect sign-in: accounts linked by subject, roles and groups from the provider's group claim.</summary>
public sealed class OidcTests(OidcServer server) : IClassFixture<OidcServer>
{
    [Fact]
    public async Task Signing_in_at_the_provider_creates_a_linked_account_with_mapped_role_and_groups()
    {
        server.Provider.NextUser = new("kc-123", "teacher.one", "Teacher One", ["ltb-instructors", "/net101"]);
        var login = await Http.ReadAsync<LoginResponse>(await server.SignInAsync(), 200);
        Assert.Equal("teacher.one", login.User.UserName);
        Assert.Equal(["instructor"], login.User.Roles);

        using var session = server.WithToken(login.Token);
        var groups = await Http.ReadAsync<Paged<GroupDto>>(await session.GetAsync("/api/v1/groups"), 200);
        Assert.Equal(["net101"], groups.Items.Select(g => g.Name));

        // The same subject signs in to the same account; the provider decides the roles each time.
        server.Provider.NextUser = new("kc-123", "teacher.one", "Teacher One", ["/net101"]);
        var again = await Http.ReadAsync<LoginResponse>(await server.SignInAsync(), 200);
        Assert.Equal(login.User.Id, again.User.Id);
        Assert.Equal(["student"], again.User.Roles);
    }

    [Fact]
    public async Task A_provider_user_cannot_take_over_a_local_account()
    {
        var local = await server.CreateUserAsync("local");
        server.Provider.NextUser = new("kc-999", local.UserName, "Impostor", ["ltb-admins"]);
        await Http.ProblemAsync(await server.SignInAsync(), 409);
    }

    [Fact]
    public async Task Completing_without_a_provider_sign_in_is_401()
    {
        using var anonymous = server.Anonymous();
        await Http.ProblemAsync(await anonymous.GetAsync("/api/v1/auth/oidc/complete"), 401);
    }
}
