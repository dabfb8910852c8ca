using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.Json;

// Usage: Ltb.Bench.Api [--labs 50] [--clients 200] [--seconds 20] [--warm-up 10] [--intervals-ms 1000,0] [--ltb PATH]
//                      [--list-every 10] [--healthz anonymous|token] [--read-cache on|off]
// Starts a real `ltb serve` (embedded default: SQLite, in-process agent, a fresh data folder, a free loopback port),
// signs in as the admin, deploys --labs real labs (one ltb/tiny node each, every fifth two with a link) through the API, then runs --clients
// concurrent clients for --seconds against GET /healthz (the baseline) and against lab status (GET /api/v1/labs/{id},
// one request in ten the list GET /api/v1/labs), and prints count, errors, p50/p95/p99/max and throughput of each.
// Each interval of --intervals-ms is one pair of phases (baseline, lab status): N > 0 ms: every client sends one request
// every N ms (a polling client, e.g. a page refreshing every second); 0: every client sends its next request as soon as
// the last one answered (closed loop: saturation, latency = clients / throughput). Destroys its labs and stops the
// server at the end. --list-every N: one status request in N is the list (0: only GET /labs/{id}). --healthz: the
// baseline without a token (default, as a load balancer asks it) or with the same bearer header. --read-cache off starts
// the server with LTB_READ_CACHE=off (no cache of tokens' callers and lab reads: the "before" of issue #11).
// Exit code 0: every pair met its target (polling: lab status p99 < 50 ms and no errors; closed loop: lab status
// throughput >= 1/4 of the baseline's and no errors); 2: missed; 1: the run failed.
var settings = Settings.Parse(args);
var repo = Machine.RepoRoot();
var data = Directory.CreateTempSubdirectory("ltb-bench-api-").FullName;
var password = "Bench-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(8)) + "a1";
var url = $"http://127.0.0.1:{FreePort()}";
var prefix = "apib" + Convert.ToHexString(RandomNumberGenerator.GetBytes(2)).ToLowerInvariant();

Console.WriteLine($"machine: {Machine.Describe()}");
Console.WriteLine($"labs {settings.Labs}, clients {settings.Clients}, {settings.Seconds} s per phase, read cache {(settings.ReadCache ? "on" : "off")}, " +
    $"baseline /healthz {(settings.HealthzWithToken ? "with" : "without")} the token, status: " +
    (settings.ListEvery > 0 ? $"1 in {settings.ListEvery} GET /labs" : "only GET /labs/{id}"));

using var server = ServeProcess.Start(settings.Ltb ?? Path.Combine(repo, "ltb"), data, url, password, settings.ReadCache);
using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancel.Cancel(); };
var labIds = new List<Guid>();
using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = int.MaxValue, PooledConnectionLifetime = TimeSpan.FromMinutes(10) })
{
    BaseAddress = new Uri(url),
    Timeout = TimeSpan.FromSeconds(60),
};
// The baseline's client when /healthz is asked without a token (a load balancer's probe).
using var anonymous = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = int.MaxValue, PooledConnectionLifetime = TimeSpan.FromMinutes(10) })
{
    BaseAddress = new Uri(url),
    Timeout = TimeSpan.FromSeconds(60),
};
var exit = 1;
try
{
    await server.WaitUntilListeningAsync(TimeSpan.FromMinutes(5));
    var login = await http.PostAsJsonAsync("/api/v1/auth/login", new { userName = "admin", password }, cancel.Token);
    login.EnsureSuccessStatusCode();
    var token = (await login.Content.ReadFromJsonAsync<JsonElement>(cancel.Token)).GetProperty("token").GetString()!;
    http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);

    var deploySw = Stopwatch.StartNew();
    var deployTasks = new List<Guid>();
    for (var i = 0; i < settings.Labs; i++)
    {
        var (lab, task) = await Labs.DeployAsync(http, $"{prefix}-{i:00}", nodes: i % 5 == 4 ? 2 : 1, cancel.Token);
        labIds.Add(lab);
        deployTasks.Add(task);
    }
    // A deployment the busy host fails (a timeout) is reported; the load runs against the labs that run.
    var running = new List<Guid>();
    for (var i = 0; i < deployTasks.Count; i++)
    {
        try
        {
            await Labs.WaitForTaskAsync(http, deployTasks[i], TimeSpan.FromMinutes(15), cancel.Token);
            running.Add(labIds[i]);
        }
        catch (InvalidOperationException e)
        {
            Console.WriteLine($"  lab {i} did not deploy: {e.Message}");
        }
    }
    Console.WriteLine($"deployed {running.Count} of {settings.Labs} labs ({settings.Labs + settings.Labs / 5} containers requested) in {deploySw.Elapsed.TotalSeconds:0.0} s");
    if (running.Count < settings.Labs * 9 / 10)
    {
        throw new InvalidOperationException("fewer than 90% of the labs deployed: not a meaningful run");
    }

    var met = true;
    foreach (var interval in settings.IntervalsMs)
    {
        var phase = settings with { IntervalMs = interval };
        Console.WriteLine(interval == 0
            ? $"-- {settings.Clients} clients, closed loop (each sends its next request when the last one answered), load average {Machine.LoadAverage()}"
            : $"-- {settings.Clients} clients, each polling every {interval} ms, load average {Machine.LoadAverage()}");
        var baseline = await Load.RunAsync(settings.HealthzWithToken ? http : anonymous, phase, _ => "/healthz", cancel.Token);
        baseline.Print($"baseline GET /healthz ({(settings.HealthzWithToken ? "with" : "without")} token)");
        var status = await Load.RunAsync(http, phase,
            random => settings.ListEvery > 0 && random.Next(settings.ListEvery) == 0
                ? "/api/v1/labs?pageSize=100" : $"/api/v1/labs/{running[random.Next(running.Count)]}", cancel.Token);
        if (settings.ListEvery > 0)
        {
            status.Print($"lab status (GET /labs/{{id}}, 1 in {settings.ListEvery} GET /labs)");
            status.Only("/api/v1/labs/").Print("  of which GET /labs/{id}");
            status.Only("/api/v1/labs?").Print("  of which GET /labs");
        }
        else
        {
            status.Print("lab status (authenticated GET /labs/{id})");
        }
        var throughput = status.Throughput / Math.Max(1e-9, baseline.Throughput);
        Console.WriteLine($"ratio lab status / baseline: p50 {Ratio(status.P(50), baseline.P(50))}, p99 {Ratio(status.P(99), baseline.P(99))}, throughput {Ratio(status.Throughput, baseline.Throughput)}");
        var pairMet = status.Errors == 0 && (interval == 0 ? throughput >= 0.25 : status.P(99) < 50);
        Console.WriteLine((pairMet ? "target met: " : "target MISSED: ") +
            (interval == 0 ? "lab status throughput >= 1/4 of the baseline's, no errors" : "lab status p99 < 50 ms, no errors"));
        met &= pairMet;
    }
    exit = met ? 0 : 2;
}
catch (Exception e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    Console.Error.WriteLine(server.Log());
}
finally
{
    // Leave nothing behind: the labs (through the API, so the server removes containers, links and state), the server, its data.
    var destroyed = true;
    try
    {
        if (labIds.Count > 0 && http.DefaultRequestHeaders.Authorization is not null)
        {
            var sw = Stopwatch.StartNew();
            var removals = new List<Guid>();
            foreach (var id in labIds)
            {
                if (await Labs.DestroyAsync(http, id) is { } task)
                {
                    removals.Add(task);
                }
            }
            // One failed removal (the engine restarted) must not leave the others behind: wait for all, then report.
            var failures = new List<string>();
            foreach (var task in removals)
            {
                try
                {
                    await Labs.WaitForTaskAsync(http, task, TimeSpan.FromMinutes(10), CancellationToken.None);
                }
                catch (Exception e) when (e is InvalidOperationException or TimeoutException)
                {
                    failures.Add(e.Message);
                }
            }
            if (failures.Count > 0)
            {
                Console.Error.WriteLine($"error: {failures.Count} removals failed, the first: {failures[0]}; remove the labs ({prefix}-*) with ltb serve --data {data}");
                exit = 1;
                destroyed = false;
            }
            else
            {
                Console.WriteLine($"destroyed {labIds.Count} labs in {sw.Elapsed.TotalSeconds:0.0} s");
            }
        }
    }
    catch (Exception e)
    {
        Console.Error.WriteLine($"error while destroying the labs ({prefix}-*): {e.Message}; remove them with ltb serve --data {data}");
        exit = 1;
        destroyed = false;
    }
    await server.StopAsync();
    if (Environment.GetEnvironmentVariable("LTB_BENCH_VERBOSE") is { Length: > 0 })
    {
        Console.WriteLine($"server log (last lines):\n{server.Log()}");
    }
    if (destroyed)
    {
        Directory.Delete(data, recursive: true);
    }
}
return exit;

static string Ratio(double a, double b) => b <= 0 ? "n/a" : (a / b).ToString("0.00", CultureInfo.InvariantCulture);

static int FreePort()
{
    using var listener = new TcpListener(IPAddress.Loopback, 0);
    listener.Start();
    return ((IPEndPoint)listener.LocalEndpoint).Port;
}

internal sealed record Settings(int Labs, int Clients, int Seconds, int[] IntervalsMs, string? Ltb, int IntervalMs = 0, int WarmUpSeconds = 10,
    int ListEvery = 10, bool HealthzWithToken = false, bool ReadCache = true)
{
    public static Settings Parse(string[] args)
    {
        var s = new Settings(50, 200, 20, [1000, 0], null);
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            var v = args[i + 1];
            s = args[i] switch
            {
                "--labs" => s with { Labs = int.Parse(v, CultureInfo.InvariantCulture) },
                "--clients" => s with { Clients = int.Parse(v, CultureInfo.InvariantCulture) },
                "--seconds" => s with { Seconds = int.Parse(v, CultureInfo.InvariantCulture) },
                "--warm-up" => s with { WarmUpSeconds = int.Parse(v, CultureInfo.InvariantCulture) },
                "--intervals-ms" => s with { IntervalsMs = [.. v.Split(',').Select(x => int.Parse(x, CultureInfo.InvariantCulture))] },
                "--ltb" => s with { Ltb = v },
                "--list-every" => s with { ListEvery = int.Parse(v, CultureInfo.InvariantCulture) },
                "--healthz" => s with { HealthzWithToken = v switch { "token" => true, "anonymous" => false, _ => throw new ArgumentException("--healthz: anonymous or token") } },
                "--read-cache" => s with { ReadCache = v switch { "on" => true, "off" => false, _ => throw new ArgumentException("--read-cache: on or off") } },
                _ => throw new ArgumentException($"unknown option {args[i]}"),
            };
        }
        return s;
    }

}

internal static class Labs
{
    public static async Task<(Guid Lab, Guid Task)> DeployAsync(HttpClient http, string name, int nodes, CancellationToken ct)
    {
        var yaml = $"name: {name}\ntopology:\n  nodes:\n    a:\n      kind: linux\n      image: ltb/tiny:latest\n" +
            (nodes == 2 ? "    b:\n      kind: linux\n      image: ltb/tiny:latest\n  links:\n    - endpoints: [\"a:eth1\", \"b:eth1\"]\n" : "");
        using var content = new MultipartFormDataContent();
        var file = new StringContent(yaml);
        file.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        content.Add(file, "topology", $"{name}.clab.yml");
        using var response = await http.PostAsync("/api/v1/labs", content, ct);
        var body = await response.Content.ReadAsStringAsync(ct);
        if (response.StatusCode != HttpStatusCode.Accepted)
        {
            throw new InvalidOperationException($"deploying {name}: HTTP {(int)response.StatusCode} {body}");
        }
        using var doc = JsonDocument.Parse(body);
        return (doc.RootElement.GetProperty("lab").GetProperty("id").GetGuid(), doc.RootElement.GetProperty("task").GetProperty("id").GetGuid());
    }

    public static async Task<Guid?> DestroyAsync(HttpClient http, Guid lab)
    {
        using var response = await http.DeleteAsync($"/api/v1/labs/{lab}");
        if (response.StatusCode != HttpStatusCode.Accepted)
        {
            return null; // already removed (a failed deployment with rollback)
        }
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return doc.RootElement.GetProperty("task").GetProperty("id").GetGuid();
    }

    public static async Task WaitForTaskAsync(HttpClient http, Guid task, TimeSpan timeout, CancellationToken ct)
    {
        var until = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < until)
        {
            using var doc = JsonDocument.Parse(await http.GetStringAsync($"/api/v1/tasks/{task}", ct));
            var state = doc.RootElement.GetProperty("state").GetString();
            if (state is "succeeded")
            {
                return;
            }
            if (state is "failed" or "interrupted")
            {
                throw new InvalidOperationException($"task {task} {state}: {doc.RootElement.GetProperty("error")}");
            }
            await Task.Delay(500, ct);
        }
        throw new TimeoutException($"task {task} did not end within {timeout}");
    }
}

/// <summary>Latencies (ms) and errors of one load phase, each sample tagged with its request path.</summary>
internal sealed class Load(List<(string Path, double Ms)> samples, int errors, double seconds, IReadOnlyList<string> errorSamples)
{
    public int Errors { get; } = errors;

    public double Throughput => samples.Count / seconds;

    private double[]? _sorted;

    public double P(double percentile)
    {
        _sorted ??= samples.Select(s => s.Ms).Order().ToArray();
        return _sorted.Length == 0 ? double.NaN : _sorted[Math.Min(_sorted.Length - 1, (int)Math.Ceiling(percentile / 100 * _sorted.Length) - 1)];
    }

    public Load Only(string pathPrefix) =>
        new(samples.Where(s => s.Path.StartsWith(pathPrefix, StringComparison.Ordinal)).ToList(), 0, seconds, []);

    public void Print(string what)
    {
        Console.WriteLine(FormattableString.Invariant(
            $"{what}: {samples.Count} requests, {Errors} errors, p50 {P(50):0.0} ms, p95 {P(95):0.0} ms, p99 {P(99):0.0} ms, max {P(100):0.0} ms, {Throughput:0} req/s"));
        foreach (var e in errorSamples)
        {
            Console.WriteLine($"  error: {e}");
        }
    }

    /// <summary>
    /// Clients run for the warm-up (not measured: JIT, connections, and each lab's first read after the deployment, which
    /// waits for an inspection) and then for the measured seconds.
    /// </summary>
    public static async Task<Load> RunAsync(HttpClient http, Settings settings, Func<Random, string> next, CancellationToken ct)
    {
        var warmUp = TimeSpan.FromSeconds(settings.WarmUpSeconds);
        var clock = Stopwatch.StartNew();
        var measureFrom = warmUp;
        var until = warmUp + TimeSpan.FromSeconds(settings.Seconds);
        var errors = 0;
        var errorSamples = new List<string>();
        var perClient = new List<(string, double)>[settings.Clients];
        var clients = Enumerable.Range(0, settings.Clients).Select(c => Task.Run(async () =>
        {
            var random = new Random(c);
            var mine = perClient[c] = new List<(string, double)>(4096);
            // Polling clients start spread over one interval, as independent clients would.
            var due = TimeSpan.FromMilliseconds(settings.IntervalMs == 0 ? 0 : random.Next(settings.IntervalMs));
            while (clock.Elapsed < until && !ct.IsCancellationRequested)
            {
                if (settings.IntervalMs > 0)
                {
                    var wait = due - clock.Elapsed;
                    if (wait > TimeSpan.Zero)
                    {
                        await Task.Delay(wait, ct);
                    }
                    due += TimeSpan.FromMilliseconds(settings.IntervalMs);
                }
                var path = next(random);
                var start = clock.Elapsed;
                string? error;
                try
                {
                    using var response = await http.GetAsync(path, HttpCompletionOption.ResponseContentRead, ct);
                    error = response.IsSuccessStatusCode ? null : $"{path}: HTTP {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct)}";
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
                {
                    error = $"{path}: {e.Message}";
                }
                var end = clock.Elapsed;
                if (start < measureFrom || end > until)
                {
                    continue;
                }
                if (error is not null)
                {
                    lock (errorSamples)
                    {
                        errors++;
                        if (errorSamples.Count < 5)
                        {
                            errorSamples.Add(error);
                        }
                    }
                    continue;
                }
                mine.Add((path, (end - start).TotalMilliseconds));
            }
        }, ct)).ToList();
        await Task.WhenAll(clients);
        return new Load(perClient.SelectMany(c => c).ToList(), errors, settings.Seconds, errorSamples);
    }
}
