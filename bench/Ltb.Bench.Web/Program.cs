using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Ltb.Client;
using Ltb.Contracts;
using Microsoft.Playwright;

// Usage: Ltb.Bench.Web [--users 50] [--seconds 30] [--ltb PATH]
// Starts a real `ltb serve` (a fresh data folder), deploys one lab of two ltb/tiny nodes, creates --users accounts and
// measures the server process's CPU (user + system, % of one core) and memory (RSS):
//   0. baseline in the same run: the server idle with the lab running and no browser;
//   1. --users signed-in users (each its own account, browser context and cookie) with the lab page open (one Blazor
//      circuit each, Debian's chromium headless driven by Playwright), quiet, for --seconds;
//   2. the same while node b is stopped and started every 10 s (each change reaches every page through its circuit;
//      the time until the last page showed it is printed).
// The sign-in form is rate-limited per client address (10 a minute) and every browser here comes from 127.0.0.1, as a
// classroom behind one NAT address would: the server runs with LTB_SIGN_IN_RATE raised, as its admin would set it.
// Exit code 0: the run completed (figures printed); 1: it failed.
var settings = Settings.Parse(args);
var repo = Machine.RepoRoot();
var data = Directory.CreateTempSubdirectory("ltb-bench-web-").FullName;
var password = "Bench-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(8)) + "a1";
var port = BenchLab.FreePort();
var url = $"http://127.0.0.1:{port}";
Console.WriteLine($"machine: {Machine.Describe()}");
Console.WriteLine($"{settings.Users} users watching a lab page, {settings.Seconds} s per phase");

using var server = ServeProcess.Start(settings.Ltb ?? Path.Combine(repo, "ltb"), data, url, password, readCache: true,
    new Dictionary<string, string> { ["LTB_SIGN_IN_RATE"] = (settings.Users + 10).ToString(CultureInfo.InvariantCulture) });
using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancel.Cancel(); };
var ct = cancel.Token;
var exit = 1;
LtbApiClient? admin = null;
string? lab = null;
IPlaywright? playwright = null;
IBrowser? browser = null;
try
{
    await server.WaitUntilListeningAsync(TimeSpan.FromMinutes(5));
    using (var anonymous = new LtbApiClient(new Uri(url), null))
    {
        admin = new LtbApiClient(new Uri(url), (await anonymous.SignInAsync("admin", password, ct)).Token);
    }
    var labName = "webb" + Convert.ToHexString(RandomNumberGenerator.GetBytes(2)).ToLowerInvariant();
    lab = (await BenchLab.DeployAsync(admin, labName, $$"""
        name: {{labName}}
        topology:
          nodes:
            a: { kind: linux, image: "ltb/tiny:latest" }
            b: { kind: linux, image: "ltb/tiny:latest" }
          links:
            - endpoints: ["a:eth1", "b:eth1"]
        """, ct)).Id.ToString();
    // Admins, so that every user may open the one lab (a student sees only their own); the page and its circuit are the same.
    var users = new List<string>();
    for (var i = 0; i < settings.Users; i++)
    {
        var name = $"watcher{i:00}";
        await admin.CreateUserAsync(new CreateUserRequest(name, password, Roles: ["admin"]), ct);
        users.Add(name);
    }

    // The deployment's last work (readiness, the first usage samples) is not the idle server's.
    await Task.Delay(TimeSpan.FromSeconds(20), ct);
    var idle = await MeasureAsync(server.Pid, settings.Seconds, null, ct);
    Report("0. baseline: server idle, lab running, no browser", idle);

    playwright = await Playwright.CreateAsync();
    browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
    {
        ExecutablePath = "/usr/bin/chromium",
        Headless = true,
        Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--renderer-process-limit=8", "--disable-renderer-backgrounding",
            "--disable-background-timer-throttling"],
    });
    var watch = Stopwatch.StartNew();
    var pages = new List<IPage>();
    for (var i = 0; i < users.Count; i++)
    {
        try
        {
            pages.Add(await OpenLabPageAsync(browser, url, users[i], password, lab));
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"user {i + 1} of {users.Count} ({users[i]}): {e.Message}", e);
        }
        if ((i + 1) % 10 == 0)
        {
            Console.WriteLine($"   {i + 1} lab pages open after {watch.Elapsed.TotalSeconds:0} s; load average {Machine.LoadAverage()}");
        }
    }
    Console.WriteLine($"{pages.Count} lab pages open and live after {watch.Elapsed.TotalSeconds:0} s");
    var watching = await MeasureAsync(server.Pid, settings.Seconds, null, ct);
    Report($"1. {pages.Count} users watching the lab page (quiet)", watching);

    var lags = new List<double>();
    var churn = await MeasureAsync(server.Pid, settings.Seconds, async elapsed =>
    {
        var action = (int)(elapsed.TotalSeconds / 10) % 2 == 0 ? "stop" : "start";
        var started = Stopwatch.StartNew();
        await admin.ControlNodeAsync(lab, "b", action, ct);
        var want = action == "stop" ? "!== 'running'" : "=== 'running'";
        await Task.WhenAll(pages.Select(p => p.WaitForFunctionAsync(
            $"() => {{ const s = document.querySelector('#lab-graph')?.dataset.states; return !!s && JSON.parse(s).b {want}; }}",
            null, new() { Timeout = 60_000 })));
        lags.Add(started.Elapsed.TotalMilliseconds);
    }, ct);
    Report($"2. {pages.Count} users watching while node b stops and starts every 10 s", churn);
    Console.WriteLine($"   node change -> shown on all {pages.Count} pages: {string.Join(", ", lags.Select(l => $"{l:0} ms"))}");
    exit = 0;
}
catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
{
    Console.Error.WriteLine($"the benchmark failed: {e}\n--- ltb serve:\n{server.Log()}");
}
finally
{
    if (browser is not null)
    {
        await browser.DisposeAsync();
    }
    playwright?.Dispose();
    if (admin is not null && lab is not null)
    {
        try
        {
            await admin.DestroyLabAsync(lab, CancellationToken.None);
            await Task.Delay(TimeSpan.FromSeconds(5));
        }
        catch (LtbApiException)
        {
        }
    }
    admin?.Dispose();
    await server.StopAsync();
    Directory.Delete(data, recursive: true);
}
return exit;

/// <summary>A user's own browser context: sign in through the form, open the lab page, wait until its graph shows both nodes running.</summary>
static async Task<IPage> OpenLabPageAsync(IBrowser browser, string host, string user, string password, string lab)
{
    var context = await browser.NewContextAsync(new() { BaseURL = host, ViewportSize = new() { Width = 1280, Height = 800 } });
    context.SetDefaultTimeout(120_000);
    var page = await context.NewPageAsync();
    await page.GotoAsync("/signin");
    await page.GetByLabel("User name").FillAsync(user);
    await page.GetByLabel("Password").FillAsync(password);
    await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
    await page.WaitForFunctionAsync("() => document.body.dataset.ltbInteractive === '1'");
    await page.GotoAsync($"/labs/{lab}");
    await page.WaitForFunctionAsync("() => { const s = document.querySelector('#lab-graph')?.dataset.states; " +
        "return !!s && Object.values(JSON.parse(s)).length === 2 && Object.values(JSON.parse(s)).every(x => x === 'running'); }");
    return page;
}

/// <summary>The server's CPU (% of one core) and peak RSS over <paramref name="seconds"/>; <paramref name="tick"/> runs every 10 s meanwhile.</summary>
static async Task<(double CpuPercent, double RssMiB, double StartRssMiB)> MeasureAsync(int pid, int seconds, Func<TimeSpan, Task>? tick,
    CancellationToken ct)
{
    var startRss = ProcessStats.RssMiB(pid);
    var cpuBefore = ProcessStats.CpuSeconds(pid);
    var watch = Stopwatch.StartNew();
    var maxRss = startRss;
    var nextTick = TimeSpan.Zero;
    while (watch.Elapsed < TimeSpan.FromSeconds(seconds))
    {
        if (tick is not null && watch.Elapsed >= nextTick)
        {
            nextTick += TimeSpan.FromSeconds(10);
            await tick(watch.Elapsed);
        }
        maxRss = Math.Max(maxRss, ProcessStats.RssMiB(pid));
        await Task.Delay(500, ct);
    }
    return ((ProcessStats.CpuSeconds(pid) - cpuBefore) / watch.Elapsed.TotalSeconds * 100, maxRss, startRss);
}

static void Report(string what, (double CpuPercent, double RssMiB, double StartRssMiB) m) =>
    Console.WriteLine($"-- {what}: server CPU {m.CpuPercent:0.0}% of one core, RSS peak {m.RssMiB:0} MiB (at start {m.StartRssMiB:0} MiB); " +
        $"load average {Machine.LoadAverage()}");

internal sealed record Settings(int Users, int Seconds, string? Ltb)
{
    public static Settings Parse(string[] args)
    {
        var users = 50;
        var seconds = 30;
        string? ltb = null;
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--users": users = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--seconds": seconds = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--ltb": ltb = args[i + 1]; break;
                default: throw new ArgumentException($"unknown option {args[i]} (--users N, --seconds N, --ltb PATH)");
            }
        }
        return new Settings(users, seconds, ltb);
    }
}
