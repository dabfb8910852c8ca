using Ltb.Server.Hosting;
using Ltb.Server.Tests.Infrastructure;

namespace Ltb.Server.Tests.Api;

/// <summary>An embedded server whose read caches would keep an entry for 10 minutes.</summary>
public sealed class LongCacheServer : SqliteServer
{
    protected override async Task ConfigureAsync(LtbServerOptions options)
    {
        await base.ConfigureAsync(options);
        ReadCacheScenarios.LongCaches(options);
    }
}

/// <summary>
/// The caches of what a token resolves to and of a lab's read (docs/security.md, "Cached reads") never answer from
/// before a change: each change is seen by the very next request on the same server.
/// </summary>
public sealed class ReadCacheTests(LongCacheServer server) : IClassFixture<LongCacheServer>
{
    private ReadCacheScenarios Scenarios => new(server.BaseAddress, server.BaseAddress, server.Admin, server.Server.Services, TimeSpan.Zero);

    [Fact]
    public Task Revoking_a_personal_token_ends_it_at_once() => Scenarios.RevokingAPersonalTokenEndsItAsync();

    [Fact]
    public Task Logout_ends_the_session_at_once() => Scenarios.LogoutEndsTheSessionAsync();

    [Fact]
    public Task Locking_a_user_stops_their_tokens_at_once_and_unlocking_restores_them() => Scenarios.LockingStopsTokensAndUnlockingRestoresThemAsync();

    [Fact]
    public Task Role_changes_apply_to_the_next_request() => Scenarios.RoleChangesApplyToTheNextRequestAsync();

    [Fact]
    public Task Group_membership_and_sharing_decide_at_once_who_sees_a_lab() => Scenarios.GroupMembershipAndSharingDecideWhoSeesALabAsync();

    [Fact]
    public Task A_password_reset_and_a_deletion_end_every_token_at_once() => Scenarios.PasswordResetAndDeletionEndEveryTokenAsync();
}
