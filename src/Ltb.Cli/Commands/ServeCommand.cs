using System.CommandLine;
using Ltb.Server.Data;
using Ltb.Server.Hosting;
using Ltb.Server.SshGateway;
using Microsoft.Extensions.DependencyInjection;

namespace Ltb.Cli.Commands;

/// <summary>`ltb serve`: the control plane with an in-process agent for this host (the embedded default).</summary>
internal static class ServeCommand
{
    /// <summary>Where the server keeps its data: the options `ltb serve` and `ltb admin` share.</summary>
    internal sealed class StoreOptions
    {
        public Option<string> Data { get; } = new("--data")
        {
            Description = $"Data folder (SQLite database, settings) [env LTB_DATA; default {LtbServerOptions.DefaultDataDirectory}]",
        };

        public Option<string> Database { get; } = new("--database")
        {
            Description = "Database: sqlite (embedded, in the data folder) or postgres [env LTB_DATABASE; default sqlite]",
        };

        public Option<string> Connection { get; } = new("--connection-string")
        {
            Description = "Database connection string (required for postgres) [env LTB_CONNECTION_STRING]",
        };

        public void AddTo(Command command)
        {
            command.Options.Add(Data);
            command.Options.Add(Database);
            command.Options.Add(Connection);
        }

        /// <summary>The server options from the command line and the environment, or null and the error.</summary>
        public LtbServerOptions? Read(ParseResult parse, out string? error)
        {
            error = null;
            var options = new LtbServerOptions
            {
                DataDirectory = parse.GetValue(Data) ?? Env("LTB_DATA") ?? LtbServerOptions.DefaultDataDirectory,
                ConnectionString = parse.GetValue(Connection) ?? Env("LTB_CONNECTION_STRING"),
            };
            var provider = parse.GetValue(Database) ?? Env("LTB_DATABASE") ?? "sqlite";
            if (!Enum.TryParse<DatabaseProvider>(provider, ignoreCase: true, out var chosen) || !Enum.IsDefined(chosen))
            {
                error = $"'{provider}' is not a database (use sqlite or postgres)";
                return null;
            }
            options.Database = chosen;
            error = SettingChecks.ConnectionString(chosen, options.ConnectionString);
            return error is null ? options : null;
        }
    }

    public static Command Create()
    {
        var store = new StoreOptions();
        var listen = new Option<string>("--listen")
        {
            Description = $"URL to listen on; port 0 picks a free one [env LTB_LISTEN; default {LtbServerOptions.DefaultUrl}]",
        };
        var tasksPerHost = new Option<int?>("--lab-tasks-per-host")
        {
            Description = "How many labs deploy or are removed at the same time on one host (a lab's own tasks always run in order) " +
                "[env LTB_LAB_TASKS_PER_HOST; default: the number of cores]",
        };
        var taskWorkers = new Option<int?>("--lab-task-workers")
        {
            Description = "How many lab tasks this server runs at the same time over all hosts [env LTB_LAB_TASK_WORKERS; default 20]",
        };
        var replica = new Option<string>("--replica")
        {
            Description = "This replica's name, when several `ltb serve` share one PostgreSQL database (written in the log of " +
                "every task it runs) [env LTB_REPLICA; default: the machine's name]",
        };
        var trustedProxy = new Option<string[]>("--trusted-proxy")
        {
            Description = "A reverse proxy (IP address or CIDR network) whose X-Forwarded-For/-Proto headers are honoured; repeatable. " +
                "Without it the headers are ignored [env LTB_TRUSTED_PROXIES, comma-separated]",
            AllowMultipleArgumentsPerToken = false,
        };
        var policyFile = new Option<string>("--policy")
        {
            Description = "The tenant policy (YAML or JSON, docs/security.md); stored at each start, replacing the one an admin set " +
                "through the API [env LTB_POLICY; default: keep the stored policy, else the safe defaults]",
        };
        var sshPort = new Option<string>("--ssh-port")
        {
            Description = $"The SSH gateway's port (users' own ssh, scp, sftp, ssh -J to their nodes; needs root and OpenSSH's sshd), " +
                $"0 picks a free one, off: no gateway [env LTB_SSH_PORT; default {SshGatewayOptions.DefaultPort}]",
        };
        var snapshots = new Option<string>("--snapshots")
        {
            Description = "The snapshot store: the folder lab snapshots are kept in [env LTB_SNAPSHOTS; default DATA/snapshots]",
        };
        var snapshotQuota = new Option<long?>("--snapshot-quota")
        {
            Description = "The most MiB one user's snapshots may take together [env LTB_SNAPSHOT_QUOTA; default 4096]",
        };
        var usageRetention = new Option<int?>("--usage-retention")
        {
            Description = "How many days the usage history keeps its hourly rows (7 to 3650) [env LTB_USAGE_RETENTION; default 90]",
        };
        var serve = new Command("serve", "Start the LTB server: REST API, web docs, and an agent for this host. " +
            "The first start creates the admin account (password from LTB_ADMIN_PASSWORD, else generated, printed and kept in " +
            $"DATA/{InitialAdminPassword.FileName} until the admin changes it).")
        {
            listen, tasksPerHost, taskWorkers, replica, trustedProxy, policyFile, sshPort, snapshots, snapshotQuota, usageRetention,
        };
        store.AddTo(serve);
        serve.SetAction(async (parse, ct) =>
        {
            using var signals = StopSignals.Announce("ltb serve");
            if (store.Read(parse, out var storeError) is not { } options)
            {
                return Fail(storeError!);
            }
            options.AdminPassword = Env("LTB_ADMIN_PASSWORD");
            if (SettingChecks.WritableFolder("--data (LTB_DATA)", options.DataDirectory) is { } dataError)
            {
                return Fail(dataError);
            }
            options.SnapshotDirectory = parse.GetValue(snapshots) ?? Env("LTB_SNAPSHOTS");
            if (options.SnapshotDirectory is { } snapshotFolder && SettingChecks.WritableFolder("--snapshots (LTB_SNAPSHOTS)", snapshotFolder) is { } snapshotError)
            {
                return Fail(snapshotError);
            }
            var quota = parse.GetValue(snapshotQuota)?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? Env("LTB_SNAPSHOT_QUOTA");
            if (quota is not null)
            {
                if (!long.TryParse(quota, System.Globalization.CultureInfo.InvariantCulture, out var mib) || mib < 0)
                {
                    return Fail($"--snapshot-quota (LTB_SNAPSHOT_QUOTA) is a number of MiB (0 or more), not '{quota}'");
                }
                options.SnapshotQuotaBytes = mib << 20;
            }
            var retention = parse.GetValue(usageRetention)?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? Env("LTB_USAGE_RETENTION");
            if (retention is not null)
            {
                if (!int.TryParse(retention, System.Globalization.CultureInfo.InvariantCulture, out var days) || days is < 7 or > 3650)
                {
                    return Fail($"--usage-retention (LTB_USAGE_RETENTION) is a number of days from 7 to 3650, not '{retention}'");
                }
                options.UsageRetention = TimeSpan.FromDays(days);
            }
            // A classroom behind one NAT address signs in from one address: the admin may allow more than the default.
            if (Env("LTB_SIGN_IN_RATE") is { } rate)
            {
                if (!int.TryParse(rate, System.Globalization.CultureInfo.InvariantCulture, out var perMinute) || perMinute is < 1 or > 10_000)
                {
                    return Fail($"LTB_SIGN_IN_RATE is the sign-ins allowed per minute from one address, 1 to 10000, not '{rate}'");
                }
                options.LoginPermitsPerMinute = perMinute;
            }
            // The CA that signed the remote agents' certificates (docs/operations.md); unset: the system's trust store.
            options.AgentCaFile = Env("LTB_AGENT_CA");
            if (options.AgentCaFile is { } ca && SettingChecks.CaFile("LTB_AGENT_CA", ca) is { } caError)
            {
                return Fail(caError);
            }
            var perHost = parse.GetValue(tasksPerHost)?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? Env("LTB_LAB_TASKS_PER_HOST");
            if (perHost is not null)
            {
                if (!int.TryParse(perHost, System.Globalization.CultureInfo.InvariantCulture, out var n) || n < 1)
                {
                    return Fail($"--lab-tasks-per-host (LTB_LAB_TASKS_PER_HOST) must be a whole number of at least 1, not '{perHost}'");
                }
                options.LabTasksPerHost = n;
            }
            var workers = parse.GetValue(taskWorkers)?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? Env("LTB_LAB_TASK_WORKERS");
            if (workers is not null)
            {
                if (!int.TryParse(workers, System.Globalization.CultureInfo.InvariantCulture, out var n) || n < 1 || n > 1000)
                {
                    return Fail($"--lab-task-workers (LTB_LAB_TASK_WORKERS) must be a whole number from 1 to 1000, not '{workers}'");
                }
                options.LabTaskWorkers = n;
            }
            if (parse.GetValue(replica) is { Length: > 0 } name)
            {
                options.ReplicaName = name;
            }
            if (AddTrustedProxies(options, parse.GetValue(trustedProxy)) is { } proxyError)
            {
                return Fail(proxyError);
            }
            if ((parse.GetValue(listen) ?? Env("LTB_LISTEN")) is { } url)
            {
                if (SettingChecks.ListenUrl("--listen (LTB_LISTEN)", url) is { } listenError)
                {
                    return Fail(listenError);
                }
                options.Urls.Clear();
                options.Urls.Add(url);
            }
            if ((parse.GetValue(policyFile) ?? Env("LTB_POLICY")) is { Length: > 0 } policyPath)
            {
                if (!File.Exists(policyPath))
                {
                    return Fail($"the policy file {policyPath} (--policy, LTB_POLICY) does not exist");
                }
                var (policy, errors) = Ltb.Topology.Policy.TenantPolicyFile.Parse(File.ReadAllText(policyPath), policyPath);
                if (policy is null)
                {
                    return Fail(string.Join("\n", errors));
                }
                options.Policy = policy;
                options.PolicySource = $"policy file {Path.GetFullPath(policyPath)}";
            }
            if (SshGatewayFrom(parse.GetValue(sshPort) ?? Env("LTB_SSH_PORT"), out var sshError) is var gateway && sshError is not null)
            {
                return Fail(sshError);
            }
            options.SshGateway = gateway;
            if (OidcFromEnvironment(out var oidcError) is { } oidc)
            {
                options.Oidc = oidc;
            }
            else if (oidcError is not null)
            {
                return Fail(oidcError);
            }
            AdminAccountCreated? admin = null;
            options.OnAdminCreated = a => admin = a;

            LtbServer server;
            try
            {
                server = await LtbServer.StartAsync(options, ct);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                return Fail($"the server did not start: {e.GetBaseException().Message}");
            }
            await using (server)
            {
                var where = server.Urls.Count > 0 ? server.Urls[0] : string.Join(", ", options.Urls);
                Console.WriteLine($"LTB is listening on {where}");
                Console.WriteLine($"  API reference: {where}/docs   OpenAPI: {where}/openapi/v1.json");
                if (options.Oidc is not null)
                {
                    Console.WriteLine($"  single sign-on: {where}/api/v1/auth/oidc/login (provider {options.Oidc.Authority})");
                }
                Console.WriteLine($"  database: {(options.Database == DatabaseProvider.Sqlite ? $"SQLite in {options.DataDirectory}" : "PostgreSQL")}");
                await PrintSshGatewayAsync(server, where);
                var file = InitialAdminPassword.PathOf(options);
                if (admin is { GeneratedPassword: null })
                {
                    Console.WriteLine($"Created the admin account '{admin.UserName}' with the password from LTB_ADMIN_PASSWORD");
                }
                else if (InitialAdminPassword.Read(options) is { } password)
                {
                    // Printed on every start while the admin has not changed it (the file goes then), never to a log.
                    Console.WriteLine(admin is not null
                        ? $"Created the admin account '{admin.UserName}' with password: {password}"
                        : $"Admin account '{options.AdminUserName}', initial password: {password}");
                    Console.WriteLine($"  (kept in {file} until the admin changes it: sign in with ltb login --server {where} --user {options.AdminUserName}, then POST /api/v1/me/password)");
                }
                else
                {
                    Console.WriteLine($"Admin account '{options.AdminUserName}' (its initial password was changed; lost it? run on this machine: ltb admin reset-password --data {options.DataDirectory})");
                }
                Console.Out.Flush();
                await server.WaitForShutdownAsync(ct);
            }
            return 0;
        });
        return serve;
    }

    /// <summary>The gateway's options from `--ssh-port` (a port, 0, or off); null: no gateway.</summary>
    private static SshGatewayOptions? SshGatewayFrom(string? value, out string? error)
    {
        error = null;
        if (value is "off" or "no" or "false")
        {
            return null;
        }
        if (value is null)
        {
            // Unasked, the gateway starts where it can (root, OpenSSH's sshd), and a machine without them simply has none.
            return Environment.IsPrivilegedProcess && File.Exists(new SshGatewayOptions().Sshd) ? new SshGatewayOptions() : null;
        }
        if (!int.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, out var port) || port is < 0 or > 65535)
        {
            error = $"--ssh-port (LTB_SSH_PORT) is a port number, 0 (a free one) or off, not '{value}'";
            return null;
        }
        return new SshGatewayOptions { Port = port };
    }

    private static async Task PrintSshGatewayAsync(LtbServer server, string where)
    {
        var gateway = server.Services.GetRequiredService<SshGatewayListener>();
        if (!gateway.Enabled)
        {
            return;
        }
        try
        {
            await gateway.Ready.WaitAsync(TimeSpan.FromSeconds(30));
            Console.WriteLine($"  SSH gateway: ssh -t -p {gateway.Port} {gateway.Account}@{new Uri(where).Host} LAB/NODE");
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or UnauthorizedAccessException or TimeoutException
            or System.Net.Sockets.SocketException)
        {
            Console.WriteLine($"  SSH gateway: off ({e.Message})");
        }
    }

    /// <summary>
    /// OpenID Connect from LTB_OIDC_AUTHORITY, LTB_OIDC_CLIENT_ID, LTB_OIDC_CLIENT_SECRET, LTB_OIDC_DISPLAY_NAME, LTB_OIDC_GROUPS_CLAIM and
    /// LTB_OIDC_ROLE_GROUPS ("provider-group=role,..."); none set: local accounts only.
    /// </summary>
    private static LtbOidcOptions? OidcFromEnvironment(out string? error)
    {
        error = null;
        var authority = Env("LTB_OIDC_AUTHORITY");
        var client = Env("LTB_OIDC_CLIENT_ID");
        if (authority is null && client is null)
        {
            return null;
        }
        if (authority is null || client is null)
        {
            error = "OpenID Connect needs both LTB_OIDC_AUTHORITY and LTB_OIDC_CLIENT_ID";
            return null;
        }
        if (SettingChecks.CalledUrl("LTB_OIDC_AUTHORITY", authority, "https://sso.example.org/realms/lab") is { } authorityError)
        {
            error = authorityError;
            return null;
        }
        var oidc = new LtbOidcOptions { Authority = authority, ClientId = client, ClientSecret = Env("LTB_OIDC_CLIENT_SECRET") };
        oidc.GroupsClaim = Env("LTB_OIDC_GROUPS_CLAIM") ?? oidc.GroupsClaim;
        oidc.DisplayName = Env("LTB_OIDC_DISPLAY_NAME") ?? oidc.DisplayName;
        foreach (var pair in (Env("LTB_OIDC_ROLE_GROUPS") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (pair.Split('=', 2) is not [var group, var role] || !Ltb.Server.Auth.LtbRoles.IsKnown(role))
            {
                error = $"LTB_OIDC_ROLE_GROUPS: '{pair}' is not provider-group=role (roles: admin, instructor, student)";
                return null;
            }
            oidc.RoleGroups[group] = role;
        }
        return oidc;
    }

    /// <summary>The named proxies (the option, else LTB_TRUSTED_PROXIES, comma- or space-separated); null, or what is wrong.</summary>
    private static string? AddTrustedProxies(LtbServerOptions options, string[]? named)
    {
        var proxies = named is { Length: > 0 }
            ? named
            : (Env("LTB_TRUSTED_PROXIES") ?? "").Split([',', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (var proxy in proxies)
        {
            if (TrustedProxies.Check(proxy) is { } error)
            {
                return $"--trusted-proxy (LTB_TRUSTED_PROXIES): {error}";
            }
            options.TrustedProxies.Add(proxy);
        }
        return null;
    }

    internal static string? Env(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : null;

    internal static int Fail(string message)
    {
        Console.Error.WriteLine($"error: {message}");
        return 1;
    }
}
