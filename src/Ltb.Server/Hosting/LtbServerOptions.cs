using Ltb.Server.Data;

namespace Ltb.Server.Hosting;

/// <summary>Everything `ltb serve` (and the tests) choose about a server instance.</summary>
public sealed class LtbServerOptions
{
    /// <summary>The per-user data folder by default: ~/.local/share/ltb (XDG_DATA_HOME is honoured).</summary>
    public static string DefaultDataDirectory =>
        Path.Combine(Environment.GetEnvironmentVariable("XDG_DATA_HOME") is { Length: > 0 } xdg
            ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "share"), "ltb");

    public const string DefaultUrl = Ltb.Contracts.ApiConventions.DefaultServerUrl;

    public string DataDirectory { get; set; } = DefaultDataDirectory;

    /// <summary>The snapshot store's folder (`--snapshots`, LTB_SNAPSHOTS); null: DATA/snapshots.</summary>
    public string? SnapshotDirectory { get; set; }

    /// <summary>The most bytes one user's snapshots may take together in the store (`--snapshot-quota`).</summary>
    public long SnapshotQuotaBytes { get; set; } = 4L << 30;

    /// <summary>Where to listen; a port of 0 picks a free one (the bound address is in <see cref="LtbServer.Urls"/>).</summary>
    public IList<string> Urls { get; } = [DefaultUrl];

    public DatabaseProvider Database { get; set; } = DatabaseProvider.Sqlite;

    /// <summary>PostgreSQL: required. SQLite: defaults to DATA/ltb.db.</summary>
    public string? ConnectionString { get; set; }

    public string AdminUserName { get; set; } = "admin";

    /// <summary>
    /// The tenant policy read from `--policy FILE` (LTB_POLICY): when set, each start stores it, replacing the one in the
    /// database (an admin's API changes last until the next start with a file); null keeps the stored one.
    /// </summary>
    public Ltb.Topology.Policy.TenantPolicy? Policy { get; set; }

    /// <summary>Where <see cref="Policy"/> came from, for the audit log ("policy file /etc/ltb/policy.yaml").</summary>
    public string PolicySource { get; set; } = "policy file";

    /// <summary>The first admin's password (LTB_ADMIN_PASSWORD); null: one is generated and reported once.</summary>
    public string? AdminPassword { get; set; }

    /// <summary>Told once, on the first start, that the admin account was created (with the generated password, if any).</summary>
    public Action<AdminAccountCreated>? OnAdminCreated { get; set; }

    /// <summary>On the first start, store the demo lab template (examples/ospf-demo), owned by the admin, visible to everyone.</summary>
    public bool SeedDemoTemplate { get; set; } = true;

    /// <summary>The SSH gateway for users' own ssh, scp, sftp and jump-host use (`--ssh-port`); null: none.</summary>
    public SshGateway.SshGatewayOptions? SshGateway { get; set; }

    /// <summary>
    /// Reverse proxies (IP addresses or CIDR networks) whose X-Forwarded-For and X-Forwarded-Proto headers are honoured
    /// (`--trusted-proxy`, LTB_TRUSTED_PROXIES); empty: the headers are ignored from everyone. See <see cref="TrustedProxies"/>.
    /// </summary>
    public IList<string> TrustedProxies { get; } = [];

    /// <summary>Sign-in through an OpenID Connect provider (Keycloak and similar); null: local accounts only.</summary>
    public LtbOidcOptions? Oidc { get; set; }

    public TimeSpan SessionLifetime { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Logins (and password changes) per client address per minute.</summary>
    public int LoginPermitsPerMinute { get; set; } = 10;

    /// <summary>Token creations per user per minute.</summary>
    public int TokenPermitsPerMinute { get; set; } = 10;

    /// <summary>Wrong passwords in a row after which password sign-in is locked for <see cref="LockoutDuration"/>.</summary>
    public int LockoutAttempts { get; set; } = 5;

    /// <summary>How long password sign-in stays locked; the user's tokens keep working meanwhile. Keep it well under a year (longer is an admin's lock).</summary>
    public TimeSpan LockoutDuration { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long a failed sign-in waits before it answers (wrong password, unknown user, locked).</summary>
    public TimeSpan FailedLoginDelay { get; set; } = TimeSpan.FromSeconds(1);
    /// <summary>How often remote agents report; a host silent for <see cref="HostSilence"/> becomes unreachable.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(5);
    public TimeSpan HostSilence { get; set; } = TimeSpan.FromSeconds(20);
    /// <summary>How often every ready host's resource use is sampled through its agent (live usage, docs/api.md "Resource usage").</summary>
    public TimeSpan UsageInterval { get; set; } = TimeSpan.FromSeconds(5);
    /// <summary>
    /// How long the usage history keeps its hour rows (docs/architecture.md "Usage history"; finer rows are rolled up
    /// after an hour and a day): at least 7 days, default 90, so that a semester's accounting can be reported.
    /// </summary>
    public TimeSpan UsageRetention { get; set; } = TimeSpan.FromDays(90);
    /// <summary>
    /// Who may scrape /metrics besides administrators (with their API token): a bearer token of its own for Prometheus
    /// (env LTB_METRICS_TOKEN; null: none), or anyone when <see cref="MetricsAnonymous"/> (a scrape network of its own).
    /// </summary>
    public string? MetricsToken { get; set; } = Environment.GetEnvironmentVariable("LTB_METRICS_TOKEN") is { Length: > 0 } t ? t : null;
    public bool MetricsAnonymous { get; set; }
    /// <summary>The most node series /metrics carries (past it, nodes count in their lab's and host's series only).</summary>
    public int MetricsNodeSeriesLimit { get; set; } = 1000;
    /// <summary>The most lab series /metrics carries.</summary>
    public int MetricsLabSeriesLimit { get; set; } = 500;
    /// <summary>
    /// The largest VM disk image an admin may add to the controller's library, by upload or from a path (env
    /// LTB_VM_IMAGE_MAX_BYTES; default 32 GiB). An upload is cut off at this size and nothing of it is kept.
    /// </summary>
    public long VmImageMaxBytes { get; set; } =
        long.TryParse(Environment.GetEnvironmentVariable("LTB_VM_IMAGE_MAX_BYTES"), System.Globalization.CultureInfo.InvariantCulture, out var max) && max > 0
            ? max : 32L << 30;
    /// <summary>A PEM file of the CA that signed the agents' certificates; null: the system's trust store (env LTB_AGENT_CA).</summary>
    public string? AgentCaFile { get; set; }

    /// <summary>
    /// How many lab tasks (deployments, removals) of different labs run at the same time on one host; the tasks of one
    /// lab always run one after the other. Default: the number of cores of this machine.
    /// </summary>
    public int LabTasksPerHost { get; set; } = Environment.ProcessorCount;

    /// <summary>
    /// How many lab tasks this replica runs at once over all hosts: the workers of its one Hangfire server (each a thread
    /// and, on PostgreSQL, a database connection while it fetches). Independent of the number of hosts.
    /// </summary>
    public int LabTaskWorkers { get; set; } = 20;

    /// <summary>
    /// This replica's name (LTB_REPLICA; default: the machine's name): names its Hangfire servers and is written in the
    /// log of every task it runs. Replicas on one database should have different names.
    /// </summary>
    public string ReplicaName { get; set; } = Environment.GetEnvironmentVariable("LTB_REPLICA") is { Length: > 0 } r ? r : Environment.MachineName;

    /// <summary>How many times a task is started when its host could not be reached or the connection dropped.</summary>
    public int LabTaskAttempts { get; set; } = 5;

    /// <summary>How long a task waits for its unreachable host before it fails (it burns no attempt while it waits).</summary>
    public TimeSpan HostAwayTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// PostgreSQL: a replica that died holds its running tasks' jobs this long (after its last keep-alive) before
    /// another replica takes them over and runs them again.
    /// </summary>
    public TimeSpan JobInvisibilityTimeout { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// How long what a token resolved to (user, roles, groups) is kept in memory (<see cref="Auth.CallerCache"/>). Changes
    /// through any replica invalidate it at once; the lifetime bounds only changes made behind the servers' back (SQL by
    /// hand, `ltb admin reset-password` against a running embedded server). Zero: no cache (`LTB_READ_CACHE=off`).
    /// </summary>
    public TimeSpan CallerCacheLifetime { get; set; } = ReadCacheOff ? TimeSpan.Zero : TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a lab's row, events and the hosts are kept in memory for status reads (<see cref="Labs.LabReadCache"/>);
    /// lab changes invalidate it at once, the lifetime bounds how late a host's state (written in bulk by heartbeats)
    /// shows. Zero: no cache (`LTB_READ_CACHE=off`).
    /// </summary>
    public TimeSpan LabReadCacheLifetime { get; set; } = ReadCacheOff ? TimeSpan.Zero : TimeSpan.FromSeconds(2);

    /// <summary>The clock of reservations and the scheduler (tests give a controlled one); null: the system's.</summary>
    public TimeProvider? Clock { get; set; }

    /// <summary>
    /// How often the reservation scheduler looks at the store for due work (deploys, warnings, removals, expiries); the
    /// store is the truth, so a missed tick only delays. Zero or less: no scheduler loop in this replica (tests drive it).
    /// </summary>
    public TimeSpan SchedulerInterval { get; set; } = TimeSpan.FromSeconds(5);

    private static bool ReadCacheOff => Environment.GetEnvironmentVariable("LTB_READ_CACHE") is "off" or "0" or "false";

    public string ResolveConnectionString() => Database switch
    {
        DatabaseProvider.Sqlite => ConnectionString ?? $"Data Source={Path.Combine(DataDirectory, "ltb.db")}",
        _ => ConnectionString is { Length: > 0 } cs
            ? cs
            : throw new InvalidOperationException(
                "the PostgreSQL database needs a connection string (--connection-string or LTB_CONNECTION_STRING)"),
    };
}

/// <summary>The first admin account. <see cref="GeneratedPassword"/> is null when it came from LTB_ADMIN_PASSWORD.</summary>
public sealed record AdminAccountCreated(string UserName, string? GeneratedPassword);

/// <summary>
/// An OpenID Connect provider (authorization code flow with PKCE). Its group claim decides LTB roles
/// (<see cref="RoleGroups"/>) and LTB group memberships (every other group, when <see cref="SyncGroups"/>).
/// </summary>
public sealed class LtbOidcOptions
{
    public required string Authority { get; set; }

    public required string ClientId { get; set; }

    public string? ClientSecret { get; set; }

    /// <summary>The provider's name on the web UI's sign-in page: "Sign in with {DisplayName}" (LTB_OIDC_DISPLAY_NAME).</summary>
    public string DisplayName { get; set; } = "single sign-on";

    /// <summary>The claim that lists the user's groups at the provider ("groups" for Keycloak's group mapper).</summary>
    public string GroupsClaim { get; set; } = "groups";

    /// <summary>Provider group -> LTB role (admin, instructor, student). A user in none of them is a student.</summary>
    public Dictionary<string, string> RoleGroups { get; } = new(StringComparer.Ordinal);

    /// <summary>The provider's other groups become LTB groups, and the user a member of them.</summary>
    public bool SyncGroups { get; set; } = true;

    /// <summary>Only a test provider on loopback may be plain HTTP.</summary>
    public bool RequireHttpsMetadata { get; set; } = true;
}
