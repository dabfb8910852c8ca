using System.CommandLine;
using Ltb.Server.Data;
using Ltb.Server.Hosting;

namespace Ltb.Cli.Commands;

/// <summary>`ltb serve`: the control plane with an in-process agent for this host (the embedded default).</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var data = new Option<string>("--data")
        {
            Description = $"Data folder (SQLite database, settings) [env LTB_DATA; default {LtbServerOptions.DefaultDataDirectory}]",
        };
        var listen = new Option<string>("--listen")
        {
            Description = $"URL to listen on; port 0 picks a free one [env LTB_LISTEN; default {LtbServerOptions.DefaultUrl}]",
        };
        var database = new Option<string>("--database")
        {
            Description = "Database: sqlite (embedded, in the data folder) or postgres [env LTB_DATABASE; default sqlite]",
        };
        var connection = new Option<string>("--connection-string")
        {
            Description = "Database connection string (required for postgres) [env LTB_CONNECTION_STRING]",
        };
        var tasksPerHost = new Option<int?>("--lab-tasks-per-host")
        {
            Description = "How many labs deploy or are removed at the same time on one host (a lab's own tasks always run in order) " +
                "[env LTB_LAB_TASKS_PER_HOST; default: the number of cores]",
        };
        var serve = new Command("serve", "Start the LTB server: REST API, web docs, and an agent for this host. " +
            "The first start creates the admin account (password from LTB_ADMIN_PASSWORD, else generated and printed once).")
        {
            data, listen, database, connection, tasksPerHost,
        };
        serve.SetAction(async (parse, ct) =>
        {
            var options = new LtbServerOptions
            {
                DataDirectory = parse.GetValue(data) ?? Env("LTB_DATA") ?? LtbServerOptions.DefaultDataDirectory,
                ConnectionString = parse.GetValue(connection) ?? Env("LTB_CONNECTION_STRING"),
                AdminPassword = Env("LTB_ADMIN_PASSWORD"),
                // The CA that signed the remote agents' certificates (docs/operations.md); unset: the system's trust store.
                AgentCaFile = Env("LTB_AGENT_CA"),
            };
            var provider = parse.GetValue(database) ?? Env("LTB_DATABASE") ?? "sqlite";
            if (!Enum.TryParse<DatabaseProvider>(provider, ignoreCase: true, out var chosen) || !Enum.IsDefined(chosen))
            {
                return Fail($"'{provider}' is not a database (use sqlite or postgres)");
            }
            options.Database = chosen;
            var perHost = parse.GetValue(tasksPerHost)?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? Env("LTB_LAB_TASKS_PER_HOST");
            if (perHost is not null)
            {
                if (!int.TryParse(perHost, System.Globalization.CultureInfo.InvariantCulture, out var n) || n < 1)
                {
                    return Fail($"--lab-tasks-per-host (LTB_LAB_TASKS_PER_HOST) must be a whole number of at least 1, not '{perHost}'");
                }
                options.LabTasksPerHost = n;
            }
            if ((parse.GetValue(listen) ?? Env("LTB_LISTEN")) is { } url)
            {
                options.Urls.Clear();
                options.Urls.Add(url);
            }
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
                if (admin is not null)
                {
                    // The generated password goes to this terminal once, never to a log or a file.
                    Console.WriteLine(admin.GeneratedPassword is { } password
                        ? $"Created the admin account '{admin.UserName}' with password: {password}\n  (shown once; sign in with: ltb login --server {where} --user {admin.UserName})"
                        : $"Created the admin account '{admin.UserName}' with the password from LTB_ADMIN_PASSWORD");
                }
                Console.Out.Flush();
                await server.WaitForShutdownAsync(ct);
            }
            return 0;
        });
        return serve;
    }

    /// <summary>
    /// OpenID Connect from LTB_OIDC_AUTHORITY, LTB_OIDC_CLIENT_ID, LTB_OIDC_CLIENT_SECRET, LTB_OIDC_GROUPS_CLAIM and
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
        var oidc = new LtbOidcOptions { Authority = authority, ClientId = client, ClientSecret = Env("LTB_OIDC_CLIENT_SECRET") };
        oidc.GroupsClaim = Env("LTB_OIDC_GROUPS_CLAIM") ?? oidc.GroupsClaim;
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

    private static string? Env(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : null;

    private static int Fail(string message)
    {
        Console.Error.WriteLine($"error: {message}");
        return 1;
    }
}
