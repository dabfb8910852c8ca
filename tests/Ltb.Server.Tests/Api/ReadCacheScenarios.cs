using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Ltb.Server.Api;
using Ltb.Server.Data;
using Ltb.Server.Hosting;
using Ltb.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Ltb.Server.Tests.Api;

/// <summary>
/// Every change that must end or alter what a token may do, made through one server (the writer) while another (the
/// reader: the same server, or a second replica on the same database) has the token's caller and the lab in its caches.
/// The servers keep cached reads for 10 minutes, so only the invalidation can make the reader see a change in time.
/// </summary>
internal sealed class ReadCacheScenarios(Uri writer, Uri reader, HttpClient writerAdmin, IServiceProvider writerServices, TimeSpan propagation)
{
    public static readonly TimeSpan LongLifetime = TimeSpan.FromMinutes(10);

    public static void LongCaches(LtbServerOptions options)
    {
        options.CallerCacheLifetime = LongLifetime;
        options.LabReadCacheLifetime = LongLifetime;
    }

    public async Task RevokingAPersonalTokenEndsItAsync()
    {
        var (user, session) = await NewUserAsync("rcrevoke");
        using var owner = Client(writer, session);
        var personal = await Http.ReadAsync<CreatedTokenDto>(await owner.PostAsJsonAsync("/api/v1/tokens", new CreateTokenRequest("script")), 201);
        using var script = Client(reader, personal.Secret);
        await ExpectAsync(script, "/api/v1/me", HttpStatusCode.OK, "the personal token before revocation");
        await Http.EnsureAsync(await owner.DeleteAsync($"/api/v1/tokens/{personal.Token.Id}"), 204, "revoke");
        await ExpectAsync(script, "/api/v1/me", HttpStatusCode.Unauthorized, "a revoked token");
        // The session that revoked it is another token: it keeps working.
        await ExpectAsync(Client(reader, session), "/api/v1/me", HttpStatusCode.OK, $"{user.UserName}'s session");
    }

    public async Task LogoutEndsTheSessionAsync()
    {
        var (_, session) = await NewUserAsync("rclogout");
        using var onReader = Client(reader, session);
        await ExpectAsync(onReader, "/api/v1/me", HttpStatusCode.OK, "the session before logout");
        using var onWriter = Client(writer, session);
        await Http.EnsureAsync(await onWriter.PostAsync("/api/v1/auth/logout", null), 204, "logout");
        await ExpectAsync(onReader, "/api/v1/me", HttpStatusCode.Unauthorized, "a logged-out session");
    }

    public async Task LockingStopsTokensAndUnlockingRestoresThemAsync()
    {
        var (user, session) = await NewUserAsync("rclock");
        using var onReader = Client(reader, session);
        await ExpectAsync(onReader, "/api/v1/me", HttpStatusCode.OK, "before the lock");
        await Http.EnsureAsync(await writerAdmin.PatchAsJsonAsync($"/api/v1/users/{user.Id}", new UpdateUserRequest(Locked: true)), 200, "lock");
        await ExpectAsync(onReader, "/api/v1/me", HttpStatusCode.Unauthorized, "a locked user's token");
        await Http.EnsureAsync(await writerAdmin.PatchAsJsonAsync($"/api/v1/users/{user.Id}", new UpdateUserRequest(Locked: false)), 200, "unlock");
        await ExpectAsync(onReader, "/api/v1/me", HttpStatusCode.OK, "an unlocked user's token");
    }

    public async Task RoleChangesApplyToTheNextRequestAsync()
    {
        var (user, session) = await NewUserAsync("rcrole");
        using var onReader = Client(reader, session);
        await ExpectAsync(onReader, "/api/v1/audit", HttpStatusCode.Forbidden, "a student reading the audit log");
        await Http.EnsureAsync(await writerAdmin.PatchAsJsonAsync($"/api/v1/users/{user.Id}", new UpdateUserRequest(Roles: ["admin"])), 200, "make admin");
        await ExpectAsync(onReader, "/api/v1/audit", HttpStatusCode.OK, "a new admin reading the audit log");
        await Http.EnsureAsync(await writerAdmin.PatchAsJsonAsync($"/api/v1/users/{user.Id}", new UpdateUserRequest(Roles: ["student"])), 200, "make student");
        await ExpectAsync(onReader, "/api/v1/audit", HttpStatusCode.Forbidden, "an admin made student again");
    }

    public async Task GroupMembershipAndSharingDecideWhoSeesALabAsync()
    {
        var (user, session) = await NewUserAsync("rcgroup");
        var group = await Http.ReadAsync<GroupDto>(await writerAdmin.PostAsJsonAsync("/api/v1/groups", new CreateGroupRequest(ServerFixture.Unique("rcg"))), 201);
        var lab = await InsertLabAsync(group.Id);
        using var onReader = Client(reader, session);
        var path = $"/api/v1/labs/{lab}";
        await ExpectAsync(onReader, path, HttpStatusCode.NotFound, "another user's lab, not shared with them");
        await Http.EnsureAsync(await writerAdmin.PutAsync($"/api/v1/groups/{group.Id}/members/{user.Id}", null), 204, "add member");
        await ExpectAsync(onReader, path, HttpStatusCode.OK, "a lab shared with a group the user joined");
        await SetLabGroupAsync(lab, null);
        await ExpectAsync(onReader, path, HttpStatusCode.NotFound, "a lab no longer shared");
        await SetLabGroupAsync(lab, group.Id);
        await ExpectAsync(onReader, path, HttpStatusCode.OK, "a lab shared again");
        await Http.EnsureAsync(await writerAdmin.DeleteAsync($"/api/v1/groups/{group.Id}/members/{user.Id}"), 204, "remove member");
        await ExpectAsync(onReader, path, HttpStatusCode.NotFound, "a lab of a group the user left");
    }

    public async Task PasswordResetAndDeletionEndEveryTokenAsync()
    {
        var (user, session) = await NewUserAsync("rcreset");
        using var onReader = Client(reader, session);
        await ExpectAsync(onReader, "/api/v1/me", HttpStatusCode.OK, "before the reset");
        await Http.EnsureAsync(await writerAdmin.PostAsJsonAsync($"/api/v1/users/{user.Id}/password", new ResetPasswordRequest("Reset-Passw0rd-2")), 204, "reset");
        await ExpectAsync(onReader, "/api/v1/me", HttpStatusCode.Unauthorized, "a token from before a password reset");

        var fresh = await LoginAsync(user.UserName, "Reset-Passw0rd-2");
        using var again = Client(reader, fresh);
        await ExpectAsync(again, "/api/v1/me", HttpStatusCode.OK, "a token from after the reset");
        await Http.EnsureAsync(await writerAdmin.DeleteAsync($"/api/v1/users/{user.Id}"), 204, "delete user");
        await ExpectAsync(again, "/api/v1/me", HttpStatusCode.Unauthorized, "a deleted user's token");
    }

    /// <summary>On one server the answer must change at once; a replica hears of it within <c>propagation</c>.</summary>
    private async Task ExpectAsync(HttpClient client, string path, HttpStatusCode expected, string what)
    {
        var until = DateTime.UtcNow + propagation;
        while (true)
        {
            using var response = await client.GetAsync(path);
            if (response.StatusCode == expected)
            {
                return;
            }
            if (DateTime.UtcNow >= until)
            {
                Assert.Fail($"{what}: GET {path} answered {(int)response.StatusCode} (expected {(int)expected}) after {propagation.TotalSeconds:0.#} s");
            }
            await Task.Delay(50);
        }
    }

    private async Task<(UserDto User, string Session)> NewUserAsync(string prefix)
    {
        var name = ServerFixture.Unique(prefix);
        var user = await Http.ReadAsync<UserDto>(await writerAdmin.PostAsJsonAsync("/api/v1/users",
            new CreateUserRequest(name, ServerFixture.UserPassword, Roles: ["student"])), 201);
        return (user, await LoginAsync(name, ServerFixture.UserPassword));
    }

    private async Task<string> LoginAsync(string name, string password)
    {
        using var anonymous = new HttpClient { BaseAddress = writer };
        return (await Http.ReadAsync<LoginResponse>(await anonymous.PostAsJsonAsync("/api/v1/auth/login", new LoginRequest(name, password)), 200)).Token;
    }

    private static HttpClient Client(Uri server, string token)
    {
        var client = new HttpClient { BaseAddress = server };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    /// <summary>A removed lab of the admin's (no host work when read), shared with <paramref name="group"/>.</summary>
    private async Task<Guid> InsertLabAsync(Guid group)
    {
        await using var scope = writerServices.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<LtbDbContext>();
        var admin = await db.Users.SingleAsync(u => u.UserName == "admin");
        var host = await db.LabHosts.OrderBy(h => h.Name).FirstAsync();
        var name = ServerFixture.Unique("rclab");
        var lab = new Lab
        {
            Id = Guid.NewGuid(), Name = name, RuntimeName = name, OwnerId = admin.Id, GroupId = group, HostId = host.Id,
            State = LabLifecycle.Removed, SourceFormat = "clab", SourceFileName = name + ".clab.yml",
            CreatedAt = DateTimeOffset.UtcNow, UpdatedAt = DateTimeOffset.UtcNow,
        };
        db.Labs.Add(lab);
        await db.SaveChangesAsync();
        return lab.Id;
    }

    private async Task SetLabGroupAsync(Guid id, Guid? group)
    {
        await using var scope = writerServices.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<LtbDbContext>();
        var lab = await db.Labs.SingleAsync(l => l.Id == id);
        lab.GroupId = group;
        await db.SaveChangesAsync();
    }
}
