using System.Text.Json;
using System.Text.Json.Serialization;
using Hangfire;
using Hangfire.Dashboard;
using Ltb.Server.Api;
using Ltb.Server.Audit;
using Ltb.Server.Auth;
using Ltb.Server.Data;
using Ltb.Server.Events;
using Ltb.Server.Labs;
using Ltb.Server.Labs.Tasks;
using Ltb.Web;
using Ltb.Web.Services;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Scalar.AspNetCore;

namespace Ltb.Server.Hosting;

/// <summary>The server's services and request pipeline, so that `ltb serve` and the tests are a few lines.</summary>
public static class ServerSetup
{
    public static IServiceCollection AddLtbServer(this IServiceCollection services, LtbServerOptions options)
    {
        // The data folder holds password and token hashes: its owner only.
        Directory.CreateDirectory(options.DataDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        services.AddSingleton(options);
        services.AddHttpContextAccessor();
        services.AddSingleton<Caching.ChangeSignals>();
        services.AddSingleton<Caching.ChangeInterceptor>();
        if (options.Database == DatabaseProvider.Postgres)
        {
            services.AddHostedService<Caching.PostgresChangeListener>();
        }
        else
        {
            services.AddHostedService<Caching.SqliteChangeFeed>();
        }
        services.AddSingleton<CallerCache>();
        services.AddSingleton<LabReadCache>();
        services.AddLtbDatabase(options.Database, options.ResolveConnectionString());

        services.AddIdentityCore<LtbUser>(o =>
            {
                // Length over character classes (NIST SP 800-63B), but still not a dictionary word alone.
                o.Password.RequiredLength = 10;
                o.Password.RequireNonAlphanumeric = false;
                o.Password.RequireUppercase = true;
                o.Password.RequireLowercase = true;
                o.Password.RequireDigit = true;
                o.Lockout.MaxFailedAccessAttempts = options.LockoutAttempts;
                o.Lockout.DefaultLockoutTimeSpan = options.LockoutDuration;
                o.Lockout.AllowedForNewUsers = true;
                o.User.RequireUniqueEmail = false;
            })
            .AddRoles<LtbRole>()
            .AddEntityFrameworkStores<LtbDbContext>();

        // The SSH gateway's session command authenticates with its own scheme (GatewayAuthenticationHandler).
        services.AddSingleton<SshGateway.GatewaySecret>();
        // The default scheme picks the web UI's cookie for its pages and the bearer token everywhere else (BrowserSessions).
        var authentication = services.AddAuthentication(BrowserSessions.DefaultScheme)
            .AddLtbBrowserSessions(options)
            .AddScheme<AuthenticationSchemeOptions, TokenAuthenticationHandler>(ApiTokens.Scheme,
                o => o.ForwardDefaultSelector = c => GatewayAuthenticationHandler.IsGatewayRequest(c) ? Ltb.Contracts.SshGatewayConventions.Scheme : null)
            .AddScheme<AuthenticationSchemeOptions, GatewayAuthenticationHandler>(Ltb.Contracts.SshGatewayConventions.Scheme, null);
        if (options.Oidc is { } oidc)
        {
            authentication.AddLtbOidc(oidc);
        }
        // Every endpoint needs a signed-in caller unless it says AllowAnonymous: a forgotten check fails closed.
        services.AddAuthorizationBuilder()
            .SetFallbackPolicy(new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build());

        services.AddResourceAuthorizer<LtbUser, UserAuthorizer>()
            .AddResourceAuthorizer<Group, GroupAuthorizer>()
            .AddResourceAuthorizer<ApiToken, ApiTokenAuthorizer>()
            .AddResourceAuthorizer<SshKey, SshKeyAuthorizer>()
            .AddResourceAuthorizer<LabHost, LabHostAuthorizer>()
            .AddResourceAuthorizer<HostToken, HostTokenAuthorizer>()
            .AddResourceAuthorizer<AuditEntry, AuditAuthorizer>()
            .AddResourceAuthorizer<Lab, LabAuthorizer>()
            .AddResourceAuthorizer<LabTemplate, LabTemplateAuthorizer>()
            .AddResourceAuthorizer<StoredNodeType, NodeTypeAuthorizer>()
            .AddResourceAuthorizer<ServerSetting, SettingAuthorizer>()
            .AddResourceAuthorizer<Reservation, ReservationAuthorizer>()
            .AddResourceAuthorizer<StoredVmImage, VmImageAuthorizer>()
            .AddResourceAuthorizer<StoredSnapshot, SnapshotAuthorizer>();
        services.AddSingleton<Snapshots.SnapshotStore>();
        services.AddScoped<Snapshots.SnapshotRequests>();
        services.AddScoped<Snapshots.SnapshotSource>();
        services.AddScoped<Catalog.NodeTypeStore>();
        services.AddScoped<Catalog.NodeTypeHosts>();
        // The host registers the system clock already: a clock of the options (tests) replaces it.
        if (options.Clock is { } clock)
        {
            services.Replace(ServiceDescriptor.Singleton(clock));
        }
        services.TryAddSingleton(TimeProvider.System);
        Reservations.ReservationServices.AddLtbReservations(services, options); // the reservation book and the scheduler (Reservations/)
        services.AddSingleton<Policy.PolicyCache>();
        services.AddSingleton<Policy.LocalHostImages>();
        services.AddScoped<Policy.PolicyStore>();
        services.AddScoped<Catalog.VmImageStore>();
        services.AddScoped<AuditLog>();

        // The local host boots the controller's VM images from the library itself (remote agents fetch and cache them).
        services.AddSingleton(_ => new RuntimeAgent(AgentDirectory.LocalStateDirectory(options), controllerVmImages: Catalog.VmImageStore.Folder(options)));
        services.AddSingleton<IAgentDirectory, AgentDirectory>();
        services.AddHostedService<HostMonitor>();
        services.AddSingleton<LabJobs>();
        services.AddSingleton<HostTaskSlots>();
        services.AddSingleton<HangfireLabTaskQueue>();
        services.AddSingleton<ILabTaskQueue>(sp => sp.GetRequiredService<HangfireLabTaskQueue>());
        services.AddHostedService(sp => sp.GetRequiredService<HangfireLabTaskQueue>());
        services.AddLabTaskHandlers(); // the runner and one handler per task kind (Labs/Tasks)
        services.AddSingleton<LabStatusCache>();
        services.AddSingleton<Usage.UsageBoard>();
        services.AddSingleton<Usage.UsageMetrics>();
        Usage.MetricsEndpoint.AddMetrics(services, options);
        services.AddSingleton<Usage.UsageHistory>();
        services.AddScoped<Usage.UsageCompaction>();
        services.AddSingleton<Usage.UsageCollector>();
        services.AddHostedService(sp => sp.GetRequiredService<Usage.UsageCollector>());
        services.AddSingleton<SshGateway.SshGatewayListener>();
        services.AddHostedService(sp => sp.GetRequiredService<SshGateway.SshGatewayListener>());
        services.AddSingleton<Consoles.ConsoleTickets>();
        services.AddSingleton<Auth.TransferTickets>();
        services.AddSingleton<Consoles.ConsoleSessions>();
        services.AddHostedService(sp => sp.GetRequiredService<Consoles.ConsoleSessions>());
        services.AddSingleton<Captures.CaptureHub>();
        services.AddSingleton<Captures.Decoding.DecodedCaptures>();
        services.AddScoped<LabReconciler>();
        services.AddLtbLiveEvents(options);

        services.AddLtbRateLimits(options);
        services.AddLtbTrustedProxies(options);
        services.AddProblemDetails(o => o.CustomizeProblemDetails = c =>
        {
            c.ProblemDetails.Instance ??= c.HttpContext.Request.Path;
            c.ProblemDetails.Extensions["traceId"] = c.HttpContext.TraceIdentifier;
            c.ProblemDetails.Detail ??= DefaultDetail(c.ProblemDetails.Status);
        });
        services.AddExceptionHandler<LtbExceptionHandler>();
        services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase));
            // Numbers are JSON numbers: the web defaults also read "5" as 5, which the OpenAPI document then has to
            // describe as integer-or-string, and generated clients (NSwag) do not compile from that.
            o.SerializerOptions.NumberHandling = JsonNumberHandling.Strict;
        });
        services.AddHealthChecks()
            .AddCheck<DatabaseHealthCheck>("database", tags: ["ready"])
            .AddCheck<AgentsHealthCheck>("agents", tags: ["ready"]);
        services.AddLtbOpenApi();
        // The cookie of the web UI is encrypted with these keys: kept in the data folder, so a restart keeps sessions.
        services.AddDataProtection().SetApplicationName("ltb")
            .PersistKeysToFileSystem(new DirectoryInfo(Path.Combine(options.DataDirectory, "keys")));
        services.AddAntiforgery(o => o.Cookie.Name = "ltb.antiforgery");
        services.AddLtbWeb(options.Oidc?.DisplayName);
        return services;
    }

    /// <summary>
    /// Hangfire's dashboard of the lab task jobs at /admin/jobs, for admins only (the endpoint's policy; a bearer token
    /// like the API). Read-only: the store's task rows are the truth, so a job is not requeued or deleted by hand here.
    /// </summary>
    public static IEndpointConventionBuilder MapJobsDashboard(this IEndpointRouteBuilder app)
    {
        const string path = "/admin/jobs";
        var options = new DashboardOptions
        {
            Authorization = [],
            AsyncAuthorization = [],
            IsReadOnlyFunc = _ => true,
            DashboardTitle = "LTB lab tasks",
            DisplayStorageConnectionString = false,
            // Hangfire checks antiforgery tokens on its POSTs once the web UI registers antiforgery; the dashboard takes
            // a bearer token only (never the UI's cookie), so a cross-site request cannot ride on it.
            IgnoreAntiforgeryToken = true,
            AppPath = null,
        };
        var pipeline = app.CreateApplicationBuilder()
            .UsePathBase(path)
            .UseMiddleware<AspNetCoreDashboardMiddleware>(app.ServiceProvider.GetRequiredService<LabJobs>().Storage, options, DashboardRoutes.Routes)
            .Build();
        // The dashboard reads with GET and polls its counters with POST.
        return app.MapMethods(path + "/{**path}", [HttpMethods.Get, HttpMethods.Post], pipeline)
            .RequireAuthorization(p => p.RequireAuthenticatedUser().RequireRole(LtbRoles.Admin))
            .ExcludeFromDescription();
    }

    public static IServiceCollection AddResourceAuthorizer<T, TAuthorizer>(this IServiceCollection services)
        where T : class
        where TAuthorizer : class, IResourceAuthorizer<T> =>
        services.AddSingleton<IResourceAuthorizer<T>, TAuthorizer>();

    public static WebApplication UseLtbServer(this WebApplication app)
    {
        // Before everything that looks at the client's address or the scheme (rate limits, audit, OIDC cookies).
        app.UseLtbTrustedProxies();
        app.UseExceptionHandler();
        // nosniff and the referrer policy on every answer; the UI's Content-Security-Policy on its pages (Ltb.Web).
        app.UseLtbSecurityHeaders();
        // The UI's script and style files: before authentication (the sign-in page needs them; they hold nothing secret).
        app.UseLtbUiAssets();
        // Empty error responses (401 challenges, 403, 404 of unknown routes, 405, 429) get a problem-details body.
        app.UseStatusCodePages();
        app.UseAuthentication();
        app.UseRateLimiter();
        app.UseAuthorization();
        // The UI's form posts (sign-in, sign-out) and Blazor's forms; the API's endpoints bind no forms that need it.
        app.UseAntiforgery();
        // Interactive exec (GET .../exec/ws); each endpoint that accepts one authorizes it first.
        app.UseWebSockets();

        app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false }).AllowAnonymous();
        app.MapHealthChecks("/readyz", new HealthCheckOptions
        {
            Predicate = c => c.Tags.Contains("ready"),
            ResponseWriter = HealthResponse.WriteAsync,
        }).AllowAnonymous();
        app.MapOpenApi().AllowAnonymous();
        app.MapScalarApiReference("/docs", o => o.WithTitle("LTB API")).AllowAnonymous();

        app.MapJobsDashboard();
        Usage.MetricsEndpoint.Map(app);
        var api = app.MapLtbApi();
        // The web UI under / (Ltb.Web): its sign-in posts here, its pages there; the API above stays bearer-only.
        app.MapBrowserSignIn();
        app.MapLtbWeb();
        if (app.Services.GetRequiredService<LtbServerOptions>().Oidc is not null)
        {
            api.MapOidcEndpoints();
            app.MapOidcBrowserSignIn();
        }
        return app;
    }

    /// <summary>The REST API under /api/v1: one line per resource (labs, templates, tasks add theirs here).</summary>
    public static RouteGroupBuilder MapLtbApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1");
        // Every API endpoint may answer with these problems (the OpenAPI document says so once for all).
        api.ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status429TooManyRequests);
        // Access checks and paging declared by the handlers' parameters (Api/Authorized.cs) are answered here.
        api.AddEndpointFilterFactory(Prologue.Filter);
        api.MapAuthEndpoints()
            .MapUsersEndpoints()
            .MapGroupsEndpoints()
            .MapTokensEndpoints()
            .MapSshKeysEndpoints()
            .MapSshGatewayEndpoints()
            .MapHostsEndpoints()
            .MapAuditEndpoints()
            .MapLabsEndpoints()
            .MapTemplatesEndpoints()
            .MapTopologiesEndpoints()
            .MapNodeTypesEndpoints()
            .MapPolicyEndpoints()
            .MapReservationsEndpoints()
            .MapCalendarEndpoints()
            .MapUsageEndpoints()
            .MapUsageHistoryEndpoints()
            .MapVmImagesEndpoints()
            .MapSnapshotsEndpoints();
        return api;
    }

    private static string? DefaultDetail(int? status) => status switch
    {
        StatusCodes.Status400BadRequest => "the request is malformed: check the JSON body and the parameters",
        StatusCodes.Status401Unauthorized => "sign in first: send 'Authorization: Bearer TOKEN' (ltb login, or a personal token)",
        StatusCodes.Status403Forbidden => "you may not do this",
        StatusCodes.Status404NotFound => "there is nothing at this address",
        StatusCodes.Status405MethodNotAllowed => "this address does not take this method",
        StatusCodes.Status429TooManyRequests => "too many requests; wait a minute and try again",
        _ => null,
    };
}
