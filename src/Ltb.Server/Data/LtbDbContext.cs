using System.Text.Json;
using Microsoft.AspNetCore.Identity.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.ChangeTracking;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace Ltb.Server.Data;

/// <summary>
/// The control plane's one database: Identity (users, roles), groups, tokens, SSH keys, lab hosts, audit log.
/// One model, two providers: <see cref="SqliteLtbDbContext"/> and <see cref="PostgresLtbDbContext"/> only exist so that
/// each provider has its own migration set (Data/Migrations/Sqlite, Data/Migrations/Postgres). Services depend on
/// this base type. Later stores (templates, labs, tasks) add their DbSets and configuration here.
/// </summary>
public abstract class LtbDbContext(DbContextOptions options)
    : IdentityDbContext<LtbUser, LtbRole, Guid>(options)
{
    public DbSet<Group> Groups => Set<Group>();
    public DbSet<GroupMember> GroupMembers => Set<GroupMember>();
    public DbSet<ApiToken> ApiTokens => Set<ApiToken>();
    public DbSet<HostToken> HostTokens => Set<HostToken>();
    public DbSet<SshKey> SshKeys => Set<SshKey>();
    public DbSet<LabHost> LabHosts => Set<LabHost>();
    public DbSet<AuditEntry> AuditEntries => Set<AuditEntry>();
    public DbSet<Lab> Labs => Set<Lab>();
    public DbSet<LabEvent> LabEvents => Set<LabEvent>();
    public DbSet<LabTask> LabTasks => Set<LabTask>();
    public DbSet<LabTunnel> LabTunnels => Set<LabTunnel>();
    public DbSet<LabHostShare> LabHostShares => Set<LabHostShare>();
    public DbSet<LabTemplate> LabTemplates => Set<LabTemplate>();
    public DbSet<LabTemplateTag> LabTemplateTags => Set<LabTemplateTag>();
    public DbSet<LabTemplateVersion> LabTemplateVersions => Set<LabTemplateVersion>();
    public DbSet<LabTemplateFile> LabTemplateFiles => Set<LabTemplateFile>();
    public DbSet<StoredSnapshot> Snapshots => Set<StoredSnapshot>();
    public DbSet<StoredNodeType> NodeTypes => Set<StoredNodeType>();
    public DbSet<ServerSetting> Settings => Set<ServerSetting>();
    public DbSet<Reservation> Reservations => Set<Reservation>();
    public DbSet<ReservationHostShare> ReservationHostShares => Set<ReservationHostShare>();
    public DbSet<CalendarFeed> CalendarFeeds => Set<CalendarFeed>();
    public DbSet<UsageRecord> UsageRecords => Set<UsageRecord>();
    public DbSet<StoredVmImage> VmImages => Set<StoredVmImage>();

    protected override void OnModelCreating(ModelBuilder builder)
    {
        base.OnModelCreating(builder);

        builder.Entity<LtbUser>(e =>
        {
            e.Property(u => u.DisplayName).HasMaxLength(200);
            e.Property(u => u.Version).IsConcurrencyToken();
        });

        builder.Entity<Group>(e =>
        {
            e.Property(g => g.Name).HasMaxLength(100);
            e.HasIndex(g => g.Name).IsUnique();
            e.Property(g => g.Description).HasMaxLength(2000);
            e.Property(g => g.Version).IsConcurrencyToken();
        });

        builder.Entity<GroupMember>(e =>
        {
            e.HasKey(m => new { m.GroupId, m.UserId });
            e.HasOne(m => m.Group).WithMany(g => g.Members).HasForeignKey(m => m.GroupId).OnDelete(DeleteBehavior.Cascade);
            e.HasOne(m => m.User).WithMany(u => u.Memberships).HasForeignKey(m => m.UserId).OnDelete(DeleteBehavior.Cascade);
            e.HasIndex(m => m.UserId);
        });

        builder.Entity<ApiToken>(e =>
        {
            e.Property(t => t.Name).HasMaxLength(100);
            e.Property(t => t.Prefix).HasMaxLength(16);
            e.Property(t => t.Hash).HasMaxLength(32);
            e.HasIndex(t => t.Hash).IsUnique();
            e.HasIndex(t => t.UserId);
            e.HasOne(t => t.User).WithMany().HasForeignKey(t => t.UserId).OnDelete(DeleteBehavior.Cascade);
        });

        builder.Entity<SshKey>(e =>
        {
            e.Property(k => k.Name).HasMaxLength(200);
            e.Property(k => k.Algorithm).HasMaxLength(64);
            e.Property(k => k.PublicKey).HasMaxLength(16384);
            e.Property(k => k.Fingerprint).HasMaxLength(64);
            // A key identifies one user at the SSH gateway: it cannot belong to two accounts.
            e.HasIndex(k => k.Fingerprint).IsUnique();
            e.HasIndex(k => k.UserId);
            e.HasOne(k => k.User).WithMany().HasForeignKey(k => k.UserId).OnDelete(DeleteBehavior.Cascade);
        });

        builder.Entity<LabHost>(e =>
        {
            e.Property(h => h.Name).HasMaxLength(100);
            e.HasIndex(h => h.Name).IsUnique();
            e.Property(h => h.Address).HasMaxLength(500);
            e.Property(h => h.State).HasConversion<string>().HasMaxLength(20);
            e.Property(h => h.Version).IsConcurrencyToken();
            // Labels are a small map read with the host; JSON text works the same on both providers.
            e.Property(h => h.Labels).HasConversion(
                    v => JsonSerializer.Serialize(v, JsonSerializerOptions.Default),
                    v => JsonSerializer.Deserialize<Dictionary<string, string>>(v, JsonSerializerOptions.Default) ?? new())
                .Metadata.SetValueComparer(new ValueComparer<Dictionary<string, string>>(
                    (a, b) => a != null && b != null && a.Count == b.Count && !a.Except(b).Any(),
                    v => v.Aggregate(0, (h, kv) => HashCode.Combine(h, kv.Key, kv.Value)),
                    v => new Dictionary<string, string>(v)));
            e.Property(h => h.Images).HasConversion(StringList.Converter).Metadata.SetValueComparer(StringList.Comparer);
            e.Property(h => h.Kinds).HasConversion(StringList.Converter).Metadata.SetValueComparer(StringList.Comparer);
            e.Property(h => h.AgentSecret).HasMaxLength(100);
            e.Property(h => h.AgentVersion).HasMaxLength(50);
            e.Property(h => h.TunnelAddress).HasMaxLength(100);
        });

        builder.Entity<HostToken>(e =>
        {
            e.Property(t => t.Name).HasMaxLength(100);
            e.Property(t => t.Prefix).HasMaxLength(16);
            e.HasIndex(t => t.Hash).IsUnique();
            e.HasOne<LabHost>().WithMany().HasForeignKey(t => t.HostId).OnDelete(DeleteBehavior.SetNull);
        });

        builder.Entity<AuditEntry>(e =>
        {
            e.Property(a => a.ActorName).HasMaxLength(256);
            e.Property(a => a.Action).HasMaxLength(64);
            e.Property(a => a.ObjectType).HasMaxLength(64);
            e.Property(a => a.ObjectId).HasMaxLength(128);
            e.Property(a => a.Detail).HasMaxLength(2000);
            e.Property(a => a.RemoteAddress).HasMaxLength(64);
            e.HasIndex(a => a.At);
            e.HasIndex(a => a.ActorId);
        });

        builder.Entity<Lab>(e =>
        {
            e.Property(l => l.Name).HasMaxLength(40);
            e.Property(l => l.RuntimeName).HasMaxLength(63);
            e.HasIndex(l => new { l.OwnerId, l.Name }).IsUnique();
            e.HasIndex(l => new { l.HostId, l.RuntimeName }).IsUnique();
            e.HasIndex(l => l.GroupId);
            e.HasOne(l => l.Owner).WithMany().HasForeignKey(l => l.OwnerId).OnDelete(DeleteBehavior.Cascade);
            e.HasOne<Group>().WithMany().HasForeignKey(l => l.GroupId).OnDelete(DeleteBehavior.SetNull);
            e.HasOne<LabHost>().WithMany().HasForeignKey(l => l.HostId).OnDelete(DeleteBehavior.Restrict);
            // A lab outlives the template it came from.
            e.HasOne<LabTemplate>().WithMany().HasForeignKey(l => l.TemplateId).OnDelete(DeleteBehavior.SetNull);
            e.Property(l => l.State).HasConversion<string>().HasMaxLength(20);
            e.Property(l => l.SourceFormat).HasMaxLength(20);
            e.Property(l => l.SourceFileName).HasMaxLength(255);
            e.Property(l => l.Error).HasMaxLength(4000);
            e.Property(l => l.PlacementReason).HasMaxLength(2000);
            e.Property(l => l.Version).IsConcurrencyToken();
            e.HasIndex(l => l.ReservationId);
            e.HasIndex(l => l.ExpiresAt);
        });

        builder.Entity<UsageRecord>(e =>
        {
            e.Property(r => r.Tier).HasConversion<int>();
            e.Property(r => r.Node).HasMaxLength(64);
            e.Property(r => r.LabName).HasMaxLength(40);
            // One row per tier, bucket, host, lab and node: a second replica's write of the same minute (each samples on
            // its own) or rollup fails on it and is dropped, so nothing is counted twice.
            e.HasIndex(r => new { r.Tier, r.Start, r.HostId, r.LabId, r.Node }).IsUnique();
            e.HasIndex(r => new { r.LabId, r.Start });
            e.HasIndex(r => new { r.OwnerId, r.Start });
            e.HasIndex(r => new { r.GroupId, r.Start });
            e.HasIndex(r => new { r.HostId, r.Start });
        });

        builder.Entity<LabEvent>(e =>
        {
            e.HasOne<Lab>().WithMany().HasForeignKey(x => x.LabId).OnDelete(DeleteBehavior.Cascade);
            e.HasIndex(x => new { x.LabId, x.Id });
            e.Property(x => x.Level).HasConversion<string>().HasMaxLength(10);
            e.Property(x => x.Node).HasMaxLength(64);
            e.Property(x => x.Message).HasMaxLength(4000);
        });

        builder.Entity<LabTask>(e =>
        {
            e.HasOne<Lab>().WithMany().HasForeignKey(t => t.LabId).OnDelete(DeleteBehavior.Cascade);
            e.HasIndex(t => new { t.LabId, t.CreatedAt });
            e.HasIndex(t => t.State);
            e.Property(t => t.Kind).HasConversion<string>().HasMaxLength(20);
            e.Property(t => t.State).HasConversion<string>().HasMaxLength(20);
            e.Property(t => t.Progress).HasMaxLength(2000);
            e.Property(t => t.Error).HasMaxLength(4000);
            e.Property(t => t.JobId).HasMaxLength(100);
        });

        builder.Entity<LabTunnel>(e =>
        {
            e.HasKey(t => t.Vni);
            e.Property(t => t.Vni).ValueGeneratedNever();
            e.HasOne<Lab>().WithMany().HasForeignKey(t => t.LabId).OnDelete(DeleteBehavior.Cascade);
            e.HasIndex(t => t.LabId);
            e.Property(t => t.LinkKey).HasMaxLength(200);
        });

        builder.Entity<LabHostShare>(e =>
        {
            e.HasKey(s => new { s.LabId, s.HostId });
            e.HasOne<Lab>().WithMany().HasForeignKey(s => s.LabId).OnDelete(DeleteBehavior.Cascade);
            e.HasIndex(s => s.HostId);
        });

        builder.Entity<StoredSnapshot>(e =>
        {
            e.Property(s => s.Name).HasMaxLength(40);
            e.Property(s => s.LabName).HasMaxLength(100);
            e.Property(s => s.SourceFileName).HasMaxLength(255);
            e.Property(s => s.State).HasConversion<string>().HasMaxLength(20);
            e.HasIndex(s => new { s.LabId, s.Name }).IsUnique();
            e.HasIndex(s => s.OwnerId);
            e.HasOne(s => s.Owner).WithMany().HasForeignKey(s => s.OwnerId).OnDelete(DeleteBehavior.Cascade);
            e.HasOne<Group>().WithMany().HasForeignKey(s => s.GroupId).OnDelete(DeleteBehavior.SetNull);
        });
        builder.Entity<LabTemplate>(e =>
        {
            e.Property(t => t.Name).HasMaxLength(40);
            e.HasIndex(t => new { t.OwnerId, t.Name }).IsUnique();
            e.HasIndex(t => t.GroupId);
            e.HasOne(t => t.Owner).WithMany().HasForeignKey(t => t.OwnerId).OnDelete(DeleteBehavior.Cascade);
            // A deleted group leaves its templates visible to their owners only.
            e.HasOne<Group>().WithMany().HasForeignKey(t => t.GroupId).OnDelete(DeleteBehavior.SetNull);
            e.Property(t => t.Visibility).HasConversion<string>().HasMaxLength(20);
            e.Property(t => t.Description).HasMaxLength(2000);
            e.Property(t => t.Format).HasMaxLength(20);
            e.Property(t => t.Version).IsConcurrencyToken();
            e.HasMany(t => t.Tags).WithOne().HasForeignKey(x => x.TemplateId).OnDelete(DeleteBehavior.Cascade);
        });

        builder.Entity<LabTemplateTag>(e =>
        {
            e.HasKey(x => new { x.TemplateId, x.Tag });
            e.Property(x => x.Tag).HasMaxLength(40);
            e.HasIndex(x => x.Tag);
        });

        builder.Entity<LabTemplateVersion>(e =>
        {
            e.HasKey(v => new { v.TemplateId, v.Number });
            e.HasOne<LabTemplate>().WithMany().HasForeignKey(v => v.TemplateId).OnDelete(DeleteBehavior.Cascade);
            e.Property(v => v.FileName).HasMaxLength(255);
            e.Property(v => v.Format).HasMaxLength(20);
            e.Property(v => v.LabName).HasMaxLength(100);
            e.Property(v => v.CreatedByName).HasMaxLength(256);
        });

        builder.Entity<LabTemplateFile>(e =>
        {
            e.HasKey(f => new { f.TemplateId, f.VersionNumber, f.Path });
            e.HasOne<LabTemplateVersion>().WithMany().HasForeignKey(f => new { f.TemplateId, f.VersionNumber }).OnDelete(DeleteBehavior.Cascade);
            e.Property(f => f.Path).HasMaxLength(1024);
        });

        builder.Entity<StoredNodeType>(e =>
        {
            e.Property(t => t.Name).HasMaxLength(100);
            e.HasIndex(t => t.Name).IsUnique();
            e.Property(t => t.Version).IsConcurrencyToken();
        });

        builder.Entity<StoredVmImage>(e =>
        {
            e.Property(i => i.Name).HasMaxLength(255);
            e.Property(i => i.Tag).HasMaxLength(63);
            e.HasIndex(i => new { i.Name, i.Tag }).IsUnique();
            e.Property(i => i.NodeType).HasMaxLength(100);
            e.Property(i => i.Format).HasMaxLength(8);
            e.Property(i => i.Sha256).HasMaxLength(64);
            e.Ignore(i => i.Reference);
            e.HasOne<LtbUser>().WithMany().HasForeignKey(i => i.CreatedById).OnDelete(DeleteBehavior.SetNull);
        });

        builder.Entity<Reservation>(e =>
        {
            e.Property(r => r.Name).HasMaxLength(40);
            e.HasOne(r => r.Owner).WithMany().HasForeignKey(r => r.OwnerId).OnDelete(DeleteBehavior.Cascade);
            // A booked template cannot be deleted from under its reservations (cancel them first).
            e.HasOne<LabTemplate>().WithMany().HasForeignKey(r => r.TemplateId).OnDelete(DeleteBehavior.Restrict);
            e.HasOne<Group>().WithMany().HasForeignKey(r => r.GroupId).OnDelete(DeleteBehavior.SetNull);
            e.Property(r => r.Audience).HasConversion<string>().HasMaxLength(20);
            e.Property(r => r.State).HasConversion<string>().HasMaxLength(20);
            e.Property(r => r.Notice).HasMaxLength(2000);
            e.Property(r => r.Version).IsConcurrencyToken();
            e.HasIndex(r => new { r.State, r.StartsAt });
            e.HasIndex(r => new { r.State, r.EndsAt });
            e.HasIndex(r => r.OwnerId);
        });

        builder.Entity<ReservationHostShare>(e =>
        {
            e.HasKey(s => new { s.ReservationId, s.HostId });
            e.HasOne<Reservation>().WithMany().HasForeignKey(s => s.ReservationId).OnDelete(DeleteBehavior.Cascade);
            // Admission reads the shares overlapping a window (EndsAt > from and HoldsFrom < to) and what they demand
            // where: all of it in the index, so the read never touches the table (docs/benchmarks.md, reservations).
            e.HasIndex(s => new { s.EndsAt, s.HoldsFrom, s.HostId, s.Cpus, s.MemoryBytes });
        });

        builder.Entity<CalendarFeed>(e =>
        {
            e.HasKey(f => f.UserId);
            e.HasOne<LtbUser>().WithMany().HasForeignKey(f => f.UserId).OnDelete(DeleteBehavior.Cascade);
            e.Property(f => f.Hash).HasMaxLength(32);
            e.HasIndex(f => f.Hash).IsUnique();
        });

        builder.Entity<ServerSetting>(e =>
        {
            e.HasKey(x => x.Key);
            e.Property(x => x.Key).HasMaxLength(100);
            e.Property(x => x.UpdatedBy).HasMaxLength(200);
            e.Property(x => x.Version).IsConcurrencyToken();
        });
    }

    public override int SaveChanges(bool acceptAllChangesOnSuccess)
    {
        BumpVersions();
        return base.SaveChanges(acceptAllChangesOnSuccess);
    }

    public override Task<int> SaveChangesAsync(bool acceptAllChangesOnSuccess, CancellationToken cancellationToken = default)
    {
        BumpVersions();
        return base.SaveChangesAsync(acceptAllChangesOnSuccess, cancellationToken);
    }

    /// <summary>Every update of a versioned row raises its version; the original value stays the concurrency check.</summary>
    private void BumpVersions()
    {
        foreach (var entry in ChangeTracker.Entries<IVersioned>())
        {
            if (entry.State == EntityState.Added)
            {
                entry.Entity.Version = 1;
            }
            else if (entry.State == EntityState.Modified)
            {
                entry.Entity.Version = entry.Property(e => e.Version).OriginalValue + 1;
            }
        }
    }
}

/// <summary>The embedded default. SQLite cannot order or compare DateTimeOffset text, so it is stored as a number.</summary>
public sealed class SqliteLtbDbContext(DbContextOptions<SqliteLtbDbContext> options) : LtbDbContext(options)
{
    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder)
    {
        configurationBuilder.Properties<DateTimeOffset>().HaveConversion<DateTimeOffsetToBinaryConverter>();
    }
}

/// <summary>Production: PostgreSQL through Npgsql.</summary>
public sealed class PostgresLtbDbContext(DbContextOptions<PostgresLtbDbContext> options) : LtbDbContext(options);

/// <summary>A short list of strings kept as JSON text (the same on both providers).</summary>
internal static class StringList
{
    public static readonly ValueConverter<List<string>, string> Converter = new(
        v => JsonSerializer.Serialize(v, JsonSerializerOptions.Default),
        v => JsonSerializer.Deserialize<List<string>>(v, JsonSerializerOptions.Default) ?? new());

    public static readonly ValueComparer<List<string>> Comparer = new(
        (a, b) => a != null && b != null && a.SequenceEqual(b),
        v => v.Aggregate(0, (h, x) => HashCode.Combine(h, x)),
        v => v.ToList());
}
