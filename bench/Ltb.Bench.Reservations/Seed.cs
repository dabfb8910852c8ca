using Ltb.Server.Auth;
using Ltb.Server.Data;
using Ltb.Server.Reservations;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

/// <summary>The store the benchmark admits against: ready hosts, a class group of 30, and scheduled reservations with their shares.</summary>
internal static class Seed
{
    public static readonly DateTimeOffset Origin = new(DateTimeOffset.UtcNow.Year + 1, 1, 4, 8, 0, 0, TimeSpan.Zero);
    public static readonly Guid Template = Guid.NewGuid();

    public static async Task<(Caller Admin, Guid Group)> StoreAsync(IServiceProvider services, Settings settings)
    {
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<LtbDbContext>();
        db.ChangeTracker.AutoDetectChangesEnabled = false;
        var admin = await db.Users.FirstAsync(u => u.UserName == "admin");
        var now = DateTimeOffset.UtcNow;
        await db.LabHosts.Where(h => h.IsLocal).ExecuteUpdateAsync(s => s.SetProperty(h => h.State, LabHostState.Disabled));
        db.LabTemplates.Add(new LabTemplate { Id = Template, Name = "bench", OwnerId = admin.Id, CurrentVersion = 1, CreatedAt = now, UpdatedAt = now });
        // Enough room that a class of 30 fits in most windows: 64 CPUs and 64 GiB per host.
        var hosts = Enumerable.Range(0, settings.Hosts).Select(i => new LabHost
        {
            Id = Guid.NewGuid(), Name = $"bench-{i:00}", Address = $"https://10.9.{i / 200}.{i % 200 + 1}:7443", Cpus = 64, MemoryBytes = 64L << 30,
            State = LabHostState.Ready, CpuOvercommit = 1, MemoryOvercommit = 1, Kinds = ["linux"], CreatedAt = now, UpdatedAt = now, LastSeenAt = now,
        }).ToList();
        db.LabHosts.AddRange(hosts);
        var group = new Group { Id = Guid.NewGuid(), Name = "bench-class", CreatedAt = now };
        db.Groups.Add(group);
        for (var i = 0; i < 30; i++)
        {
            var user = new LtbUser { Id = Guid.NewGuid(), UserName = $"bench-s{i:00}", NormalizedUserName = $"BENCH-S{i:00}", CreatedAt = now };
            db.Users.Add(user);
            db.GroupMembers.Add(new GroupMember { GroupId = group.Id, UserId = user.Id, AddedAt = now });
        }
        await db.SaveChangesAsync();

        var random = new Random(42);
        for (var i = 0; i < settings.Reservations; i++)
        {
            var start = Origin.AddMinutes(random.Next(0, 30 * 24 * 60));
            var end = start.AddHours(random.Next(1, 4));
            var labs = random.Next(1, 31);
            var host = hosts[random.Next(hosts.Count)].Id;
            var r = new Reservation
            {
                Id = Guid.NewGuid(), Name = $"r{i}", OwnerId = admin.Id, TemplateId = Template, TemplateVersion = 1, StartsAt = start, EndsAt = end,
                BookedEndsAt = end, HoldsFrom = start.AddMinutes(-5), Audience = ReservationAudience.Owner, LabCpus = 1, LabMemoryBytes = 256L << 20,
                KindsJson = "[\"linux\"]", State = ReservationState.Scheduled, CreatedAt = now, UpdatedAt = now,
                PlanJson = ReservationPlan.ToJson(Enumerable.Range(0, labs).Select(_ => new PlannedLab(admin.Id, "admin", host))),
            };
            db.Reservations.Add(r);
            db.ReservationHostShares.Add(new ReservationHostShare
            {
                ReservationId = r.Id, HostId = host, HoldsFrom = r.HoldsFrom, EndsAt = end, Cpus = labs, MemoryBytes = labs * (256L << 20),
            });
            if (i % 1000 == 999)
            {
                await db.SaveChangesAsync();
                db.ChangeTracker.Clear();
            }
        }
        await db.SaveChangesAsync();
        var caller = new Caller(admin.Id, "admin", new HashSet<string>(StringComparer.Ordinal) { LtbRoles.Admin }, new HashSet<Guid>(), Guid.Empty);
        return (caller, group.Id);
    }
}
