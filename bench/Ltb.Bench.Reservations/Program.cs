using System.Diagnostics;
using System.Globalization;
using Ltb.Server.Auth;
using Ltb.Server.Data;
using Ltb.Server.Hosting;
using Ltb.Server.Labs.Placement;
using Ltb.Server.Reservations;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

// Usage: Ltb.Bench.Reservations [--database sqlite|postgres|both] [--reservations 10000] [--hosts 50] [--runs 300] [--warm-up 30]
//                               [--postgres CONNECTION] (default: LTB_TEST_POSTGRES, else the test suite's loopback server)
// Starts an in-process LTB server on a fresh database (SQLite in a temporary folder; PostgreSQL: a fresh database, dropped at
// the end), stores --hosts ready hosts and --reservations scheduled reservations (1 to 3 hours, 1 to 30 labs of 1 CPU and
// 256 MiB, spread over 30 days and the hosts, with their host shares), then admits --runs new bookings of a class (30
// labs, a random 2-hour window in the same 30 days) as POST /reservations does: the placement lock, the hosts, the
// bookings overlapping the window, the sweep per host, the plan and its shares (not saved: the store stays as seeded).
// Baseline in the same run: the read of the overlapping bookings alone. Prints p50/p95/p99/max of both; exit code 0
// when admission's p99 < 50 ms on every database, 2 when not, 1 when the run failed.
var settings = Settings.Parse(args);
Console.WriteLine($"machine: {Machine.Describe()}");
Console.WriteLine($"{settings.Reservations} reservations on {settings.Hosts} hosts; {settings.Runs} admissions after {settings.WarmUp} warm-up");
var met = true;
foreach (var provider in settings.Providers)
{
    met &= await Bench.RunAsync(provider, settings);
}
return met ? 0 : 2;

internal sealed record Settings(DatabaseProvider[] Providers, int Reservations, int Hosts, int Runs, int WarmUp, string Postgres)
{
    public static Settings Parse(string[] args)
    {
        string Get(string name, string fallback) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
        int Int(string name, int fallback) => int.Parse(Get(name, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
        var providers = Get("--database", "both") switch
        {
            "sqlite" => new[] { DatabaseProvider.Sqlite },
            "postgres" => [DatabaseProvider.Postgres],
            _ => [DatabaseProvider.Sqlite, DatabaseProvider.Postgres],
        };
        var postgres = Get("--postgres", Environment.GetEnvironmentVariable("LTB_TEST_POSTGRES") is { Length: > 0 } s ? s
            : "Host=127.0.0.1;Port=5432;Username=ltb_test;Password=ltb_test;Database=ltb_test");
        return new Settings(providers, Int("--reservations", 10_000), Int("--hosts", 50), Int("--runs", 300), Int("--warm-up", 30), postgres);
    }
}

internal static class Bench
{
    public static async Task<bool> RunAsync(DatabaseProvider provider, Settings settings)
    {
        var data = Directory.CreateTempSubdirectory("ltb-bench-res-").FullName;
        var pgName = "ltb_bench_" + Guid.NewGuid().ToString("N")[..12];
        var options = new LtbServerOptions
        {
            DataDirectory = data, Database = provider, AdminPassword = "Bench-Passw0rd-1", SeedDemoTemplate = false,
            SchedulerInterval = TimeSpan.Zero, HostSilence = TimeSpan.FromDays(1), // the seeded hosts have no agent
        };
        options.Urls.Clear();
        options.Urls.Add("http://127.0.0.1:0");
        if (provider == DatabaseProvider.Postgres)
        {
            await AdminSqlAsync(settings.Postgres, $"CREATE DATABASE \"{pgName}\"");
            options.ConnectionString = new NpgsqlConnectionStringBuilder(settings.Postgres) { Database = pgName }.ConnectionString;
        }
        try
        {
            await using var server = await LtbServer.StartAsync(options, CancellationToken.None);
            var (admin, group) = await Seed.StoreAsync(server.Services, settings);
            var admission = new List<double>();
            var baseline = new List<double>();
            var random = new Random(7);
            for (var i = 0; i < settings.WarmUp + settings.Runs; i++)
            {
                var start = Seed.Origin.AddMinutes(random.Next(0, 30 * 24 * 60));
                var (a, b) = await AdmitOnceAsync(server.Services, admin, group, start, start.AddHours(2));
                if (i >= settings.WarmUp)
                {
                    admission.Add(a);
                    baseline.Add(b);
                }
            }
            await Phases.PrintAsync(server.Services, admin, group, provider);
            var p99 = Percentile(admission, 0.99);
            Console.WriteLine($"{provider}: admission      {Summary(admission)}");
            Console.WriteLine($"{provider}: baseline read  {Summary(baseline)}  (the overlapping bookings alone)");
            Console.WriteLine($"{provider}: target p99 < 50 ms: {(p99 < 50 ? "met" : "MISSED")}");
            return p99 < 50;
        }
        finally
        {
            if (provider == DatabaseProvider.Postgres)
            {
                NpgsqlConnection.ClearAllPools();
                await AdminSqlAsync(settings.Postgres, $"DROP DATABASE IF EXISTS \"{pgName}\" WITH (FORCE)");
            }
            Directory.Delete(data, recursive: true);
        }
    }

    /// <summary>One admission as the endpoint runs it (lock, read, sweep, plan; rolled back), then the baseline read alone.</summary>
    private static async Task<(double Admission, double Baseline)> AdmitOnceAsync(IServiceProvider services, Caller admin, Guid group,
        DateTimeOffset start, DateTimeOffset end)
    {
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<LtbDbContext>();
        var book = scope.ServiceProvider.GetRequiredService<ReservationBook>();
        var r = new Reservation
        {
            Id = Guid.NewGuid(), Name = "bench", OwnerId = admin.UserId, TemplateId = Seed.Template, TemplateVersion = 1, StartsAt = start,
            EndsAt = end, BookedEndsAt = end, HoldsFrom = start.AddMinutes(-5), Audience = ReservationAudience.Members, GroupId = group,
            LabCpus = 1, LabMemoryBytes = 256L << 20, KindsJson = "[\"linux\"]",
        };
        var sw = Stopwatch.StartNew();
        await using (var placementLock = await PlacementLock.AcquireAsync(db, CancellationToken.None))
        {
            var refused = await book.AdmitAsync(admin, r, CancellationToken.None);
            if (refused is not null)
            {
                throw new InvalidOperationException($"the bench's booking was refused: {refused.ProblemDetails.Detail}");
            }
        }
        var admission = sw.Elapsed.TotalMilliseconds;
        sw.Restart();
        _ = await ReservationBookings.LoadAsync(db, r.HoldsFrom, r.EndsAt, null, CancellationToken.None);
        return (admission, sw.Elapsed.TotalMilliseconds);
    }

    private static async Task AdminSqlAsync(string connection, string sql)
    {
        await using var c = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connection) { Pooling = false }.ConnectionString);
        await c.OpenAsync();
        await using var command = new NpgsqlCommand(sql, c);
        await command.ExecuteNonQueryAsync();
    }

    public static double Percentile(List<double> values, double p)
    {
        var sorted = values.Order().ToList();
        return sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];
    }

    private static string Summary(List<double> v) => string.Create(CultureInfo.InvariantCulture,
        $"p50 {Percentile(v, 0.5):0.0} ms, p95 {Percentile(v, 0.95):0.0} ms, p99 {Percentile(v, 0.99):0.0} ms, max {v.Max():0.0} ms");
}
