using System.Security.Cryptography;
using Ltb.Server.Api;
using Ltb.Server.Auth;
using Ltb.Server.Data;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;

namespace Ltb.Server.Hosting;

/// <summary>
/// What every start does before listening: migrate, ensure the roles, the first admin and the local host, record the
/// demands of labs stored before they were recorded, reconcile.
/// </summary>
internal static class ServerInitialization
{
    public static async Task RunAsync(IServiceProvider services, LtbServerOptions options, CancellationToken ct)
    {
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<LtbDbContext>();
        if (options.Database == DatabaseProvider.Postgres)
        {
            // Replicas starting together take turns (migrations, the first admin, the local host, the job schema):
            // a session-level advisory lock on this connection, released when the connection closes.
            await db.Database.OpenConnectionAsync(ct);
            await db.Database.ExecuteSqlRawAsync($"SELECT pg_advisory_lock({StartLock})", ct);
        }
        await db.Database.MigrateAsync(ct);
        if (options.Database == DatabaseProvider.Sqlite)
        {
            // Write-ahead logging: readers do not wait for a writer, which matters with many users on the embedded default.
            await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", ct);
        }
        await EnsureRolesAsync(db, ct);
        await EnsureAdminAsync(scope.ServiceProvider.GetRequiredService<UserManager<LtbUser>>(), db, options, ct);
        await RegisterLocalHostAsync(db, scope.ServiceProvider.GetRequiredService<Ltb.Agent.RuntimeAgent>().Kinds, ct);
        await ApplyPolicyFileAsync(scope.ServiceProvider, options, ct);
        await Labs.Placement.HostInventory.BackfillAsync(db, ct);
        // Creates the job storage (and with PostgreSQL its schema) while the lock is held.
        scope.ServiceProvider.GetRequiredService<Labs.LabJobs>();
        await scope.ServiceProvider.GetRequiredService<Labs.LabReconciler>().RunAsync(ct);
        if (options.Database == DatabaseProvider.Postgres)
        {
            await db.Database.ExecuteSqlRawAsync($"SELECT pg_advisory_unlock({StartLock})", ct);
        }
    }

    /// <summary>`--policy FILE`: stored when it differs from the stored policy, and audited as the file's change.</summary>
    private static async Task ApplyPolicyFileAsync(IServiceProvider services, LtbServerOptions options, CancellationToken ct)
    {
        if (options.Policy is not { } policy)
        {
            return;
        }
        var store = services.GetRequiredService<Policy.PolicyStore>();
        var (current, row) = await store.ReadAsync(ct);
        var json = Ltb.Topology.Policy.TenantPolicyFile.ToJson(policy);
        if (row is not null && Ltb.Topology.Policy.TenantPolicyFile.ToJson(current) == json)
        {
            return;
        }
        await store.SaveAsync(policy, options.PolicySource, null, ct);
        services.GetRequiredService<Audit.AuditLog>().RecordAs(null, options.PolicySource, Audit.AuditActions.Updated, "policy", Policy.PolicyStore.Key,
            System.Text.Json.Nodes.JsonNode.Parse(json)!.ToJsonString());
        await services.GetRequiredService<LtbDbContext>().SaveChangesAsync(ct);
    }

    /// <summary>The advisory lock key of the start-up work ("LTB" in ASCII, and 1).</summary>
    private const long StartLock = 0x4C544201;

    private static async Task EnsureRolesAsync(LtbDbContext db, CancellationToken ct)
    {
        foreach (var role in LtbRoles.All)
        {
            if (!await db.Roles.AnyAsync(r => r.Name == role, ct))
            {
                db.Roles.Add(new LtbRole(role) { Id = Guid.NewGuid(), ConcurrencyStamp = Guid.NewGuid().ToString() });
            }
        }
        await db.SaveChangesAsync(ct);
    }

    /// <summary>
    /// The first start (no admin yet) creates one; its password is given (LTB_ADMIN_PASSWORD) or generated, reported and
    /// kept in <see cref="InitialAdminPassword"/>'s file until the admin changes it.
    /// </summary>
    private static async Task EnsureAdminAsync(UserManager<LtbUser> users, LtbDbContext db, LtbServerOptions options,
        CancellationToken ct)
    {
        if ((await users.GetUsersInRoleAsync(LtbRoles.Admin)).Count > 0)
        {
            await InitialAdminPassword.DiscardIfStaleAsync(users, options);
            return;
        }
        var admin = new LtbUser { UserName = options.AdminUserName, DisplayName = "Administrator", CreatedAt = DateTimeOffset.UtcNow };
        var password = options.AdminPassword;
        if (password is not null)
        {
            var errors = await UserViews.CheckPasswordAsync(users, admin, password);
            if (errors.Length > 0)
            {
                throw new InvalidOperationException($"LTB_ADMIN_PASSWORD is too weak: {string.Join(" ", errors)}");
            }
        }
        var generated = password is null ? GeneratePassword() : null;
        var result = await users.CreateAsync(admin, password ?? generated!);
        if (!result.Succeeded)
        {
            throw new InvalidOperationException(
                $"cannot create the admin account '{options.AdminUserName}': {string.Join(" ", result.Errors.Select(e => e.Description))}");
        }
        await users.AddToRoleAsync(admin, LtbRoles.Admin);
        await db.SaveChangesAsync(ct);
        if (options.SeedDemoTemplate)
        {
            // The first start only (like the admin account): a deleted demo stays deleted.
            await Templates.DemoTemplate.SeedAsync(db, admin, options.DataDirectory, ct);
        }
        if (generated is not null)
        {
            InitialAdminPassword.Write(options, generated);
        }
        else
        {
            File.Delete(InitialAdminPassword.PathOf(options)); // a file from an earlier installation in this folder
        }
        options.OnAdminCreated?.Invoke(new AdminAccountCreated(admin.UserName, generated));
    }

    /// <summary>20 characters of an unambiguous alphabet (~115 bits), with upper, lower and digit as the policy wants.</summary>
    public static string GeneratePassword()
    {
        const string upper = "ABCDEFGHJKLMNPQRSTUVWXYZ", lower = "abcdefghijkmnopqrstuvwxyz", digits = "23456789";
        const string all = upper + lower + digits;
        var chars = RandomNumberGenerator.GetItems<char>(all, 17).ToList();
        chars.Add(RandomNumberGenerator.GetItems<char>(upper, 1)[0]);
        chars.Add(RandomNumberGenerator.GetItems<char>(lower, 1)[0]);
        chars.Add(RandomNumberGenerator.GetItems<char>(digits, 1)[0]);
        var array = chars.ToArray();
        RandomNumberGenerator.Shuffle(array.AsSpan());
        return new string(array);
    }

    /// <summary>How this machine's engine isolates containers (null: no engine answers now; the record keeps what it had).</summary>
    private static async Task<Ltb.Runtime.Docker.EngineIsolation?> LocalIsolationAsync(CancellationToken ct)
    {
        try
        {
            using var engine = Ltb.Runtime.Docker.DockerEngine.Connect();
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
            limit.CancelAfter(TimeSpan.FromSeconds(5));
            return await engine.IsolationAsync(limit.Token);
        }
        catch (Exception e) when (e is HttpRequestException or IOException or System.Net.Sockets.SocketException or OperationCanceledException
            or Docker.DotNet.DockerApiException && !ct.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <summary>This machine is the "local" lab host, served by the in-process agent; its capacity is refreshed each start.</summary>
    private static async Task RegisterLocalHostAsync(LtbDbContext db, IReadOnlyList<string> kinds, CancellationToken ct)
    {
        var now = DateTimeOffset.UtcNow;
        var host = await db.LabHosts.FirstOrDefaultAsync(h => h.IsLocal, ct);
        if (host is null)
        {
            host = new LabHost { Id = Guid.NewGuid(), Name = "local", IsLocal = true, Address = "in-process", CreatedAt = now };
            db.LabHosts.Add(host);
        }
        host.Cpus = Environment.ProcessorCount;
        host.MemoryBytes = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        // What a remote agent reports, for placement: the kinds of the in-process agent's node drivers.
        host.Kinds = [.. kinds];
        if (host.State == LabHostState.Unreachable)
        {
            host.State = LabHostState.Ready;
        }
        if (await LocalIsolationAsync(ct) is { } isolation)
        {
            host.EngineUserNamespaces = isolation.UserNamespaces;
            host.EngineSeccomp = isolation.Seccomp;
            host.EngineAppArmor = isolation.AppArmor;
        }
        host.UpdatedAt = now;
        await db.SaveChangesAsync(ct);
    }
}
