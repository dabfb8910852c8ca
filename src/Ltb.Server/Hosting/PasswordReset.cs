using Ltb.Server.Api;
using Ltb.Server.Audit;
using Ltb.Server.Data;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;

namespace Ltb.Server.Hosting;

/// <summary>
/// `ltb admin reset-password`: sets a user's password straight in the server's database, for a lost admin password.
/// It runs on the server machine with access to the data folder (or the PostgreSQL connection string), which is what
/// authorizes it; a running server need not be stopped. Like an admin's reset through the API it unlocks the account,
/// revokes every token of the user and is audited.
/// </summary>
public static class PasswordReset
{
    public sealed record Outcome(string UserName, string Password, bool Generated, string? PasswordFile);

    /// <summary>Resets <paramref name="userName"/>'s password to <paramref name="password"/>, or to a generated one.</summary>
    public static async Task<Outcome> RunAsync(LtbServerOptions options, string userName, string? password, CancellationToken ct)
    {
        if (options.Database == DatabaseProvider.Sqlite && options.ConnectionString is null
            && !File.Exists(Path.Combine(options.DataDirectory, "ltb.db")))
        {
            throw new InvalidOperationException(
                $"there is no LTB database in {options.DataDirectory}; give the server's data folder with --data (or LTB_DATA)");
        }
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddLtbServer(options);
        await using var provider = services.BuildServiceProvider();
        await using var scope = provider.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<LtbDbContext>();
        await db.Database.MigrateAsync(ct);
        var users = scope.ServiceProvider.GetRequiredService<UserManager<LtbUser>>();
        var user = await users.FindByNameAsync(userName)
            ?? throw new InvalidOperationException($"there is no user '{userName}' in this LTB database");
        var generated = password is null;
        password ??= ServerInitialization.GeneratePassword();
        var errors = await UserViews.CheckPasswordAsync(users, user, password);
        if (errors.Length > 0)
        {
            throw new InvalidOperationException($"the password is too weak: {string.Join(" ", errors)}");
        }
        // Saving the user's changed row tells the running servers' caches: PostgreSQL by NOTIFY, SQLite by the marker.
        UserViews.SetPassword(users, user, password);
        var now = DateTimeOffset.UtcNow;
        await db.ApiTokens.Where(t => t.UserId == user.Id && t.RevokedAt == null)
            .ExecuteUpdateAsync(s => s.SetProperty(t => t.RevokedAt, now), ct);
        scope.ServiceProvider.GetRequiredService<AuditLog>()
            .RecordAs(null, "ltb admin reset-password", AuditActions.PasswordReset, "user", user.Id, "on the server machine");
        await db.SaveChangesAsync(ct);
        Caching.SqliteChangeFeed.Touch(options);

        // A generated admin password is shown by `ltb serve` and scripts/up.sh until the admin changes it.
        string? file = null;
        InitialAdminPassword.Discard(options, user);
        if (generated && string.Equals(user.UserName, options.AdminUserName, StringComparison.Ordinal))
        {
            InitialAdminPassword.Write(options, password);
            file = InitialAdminPassword.PathOf(options);
        }
        return new Outcome(user.UserName!, password, generated, file);
    }
}
