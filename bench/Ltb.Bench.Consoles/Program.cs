using System.Diagnostics;
using System.Globalization;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Ltb.Client;
using Ltb.Contracts;

// Usage: Ltb.Bench.Consoles [--keystrokes 1000] [--consoles 50] [--seconds 20] [--ltb PATH]
// Starts a real `ltb serve` with its SSH gateway (root, OpenSSH's sshd; a fresh data folder, free loopback ports),
// deploys one ltb/tiny node and measures, on `cat` in a TTY (the node's terminal echoes each key):
//   1. the keystroke round trip through the browser path: console WebSocket -> agent stream -> the node's TTY -> back;
//   2. the same through the SSH gateway: the OpenSSH client (ssh -tt, as a terminal would) -> sshd -> ltb gateway session
//      -> exec WebSocket -> the node's TTY -> back;
//   0. a baseline in the same run: `docker exec -it NODE cat` in a PTY of script(1), the same TTY echo without LTB;
//   3. --consoles consoles each printing as fast as it can (`yes`), read by clients that keep up, for --seconds: the
//      server's CPU (user + system, of one core) and memory (RSS), the bytes delivered, and meanwhile the browser path's
//      keystroke round trip on one more console.
// Prints p50/p95/p99/max of each. Exit code 0: both idle p99 under 20 ms; 2: missed; 1: the run failed.
var settings = Settings.Parse(args);
var repo = Machine.RepoRoot();
var data = Directory.CreateTempSubdirectory("ltb-bench-consoles-").FullName;
var password = "Bench-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(8)) + "a1";
var url = $"http://127.0.0.1:{BenchLab.FreePort()}";
Console.WriteLine($"machine: {Machine.Describe()}");
Console.WriteLine($"{settings.Keystrokes} keystrokes per path, {settings.Consoles} flooding consoles for {settings.Seconds} s");

using var server = ServeProcess.Start(settings.Ltb ?? Path.Combine(repo, "ltb"), data, url, password, readCache: true,
    new Dictionary<string, string> { ["LTB_SSH_PORT"] = "0" });
using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancel.Cancel(); };
var ct = cancel.Token;
var exit = 1;
LtbApiClient? admin = null;
string? lab = null;
try
{
    await server.WaitUntilListeningAsync(TimeSpan.FromMinutes(5));
    var sshPort = await GatewayPortAsync(server);
    using (var anonymous = new LtbApiClient(new Uri(url), null))
    {
        admin = new LtbApiClient(new Uri(url), (await anonymous.SignInAsync("admin", password, ct)).Token);
    }
    // By id: the flood's other admins do not see the lab under its name (names are per owner).
    var labName = "conb" + Convert.ToHexString(RandomNumberGenerator.GetBytes(2)).ToLowerInvariant();
    lab = (await BenchLab.DeployAsync(admin, labName, $"name: {labName}\ntopology:\n  nodes:\n    a:\n      kind: linux\n      image: ltb/tiny:latest\n", ct)).Id.ToString();
    var key = Path.Combine(data, "bench_ed25519");
    await RunAsync("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key);
    await admin.AddSshKeyAsync(new AddSshKeyRequest((await File.ReadAllTextAsync(key + ".pub", ct)).Trim()), ct);

    var container = (await admin.GetLabAsync(lab, ct)).Nodes.Single().ContainerName
        ?? throw new InvalidOperationException("the node has no container");
    var baseline = await TerminalKeystrokesAsync("script", ["-qfec", $"docker exec -it {container} cat", "/dev/null"], settings.Keystrokes, ct);
    Report("baseline: docker exec -it (script's PTY -> Docker's TTY echo, no LTB)", baseline);
    var browser = await BrowserKeystrokesAsync(admin, lab, settings.Keystrokes, ct);
    Report("browser path (console WebSocket -> agent stream -> TTY echo)", browser);
    var ssh = await SshKeystrokesAsync(key, sshPort, lab, settings.Keystrokes, ct);
    Report("SSH gateway (ssh -tt -> sshd -> ltb gateway session -> exec WebSocket -> TTY echo)", ssh);
    var flood = await Flood.RunAsync(url, password, admin, lab, server.Pid, settings, ct);
    Console.WriteLine($"-- {settings.Consoles} consoles running `yes` for {settings.Seconds} s: server CPU {flood.CpuPercent:0}% of one core, " +
        $"RSS {flood.RssMiB:0} MiB (idle before: {flood.IdleRssMiB:0} MiB), {flood.MiBPerSecond:0.0} MiB/s delivered to the clients");
    Report("browser path during the flood", flood.Keystrokes);
    Console.WriteLine($"p99 / baseline p99: browser {Percentile(browser, 0.99) / Percentile(baseline, 0.99):0.0}, " +
        $"SSH gateway {Percentile(ssh, 0.99) / Percentile(baseline, 0.99):0.0}");
    exit = Percentile(browser, 0.99) < 20 && Percentile(ssh, 0.99) < 20 ? 0 : 2;
    Console.WriteLine(exit == 0 ? "target met: p99 under 20 ms on both paths" : "target missed: p99 of 20 ms");
}
catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
{
    Console.Error.WriteLine($"the benchmark failed: {e}\n--- ltb serve:\n{server.Log()}");
}
finally
{
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

static async Task<int> GatewayPortAsync(ServeProcess server)
{
    for (var i = 0; i < 300; i++)
    {
        if (server.Line("SSH gateway:") is { } line)
        {
            return Regex.Match(line, @"-p (\d+) ") is { Success: true } m
                ? int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)
                : throw new InvalidOperationException($"the SSH gateway did not start: {line}");
        }
        await Task.Delay(100);
    }
    throw new InvalidOperationException("ltb serve printed no SSH gateway line (root and OpenSSH's sshd are needed)");
}

/// <summary>A console with `cat` in its TTY; each keystroke's time until the node's terminal echoed it back.</summary>
static async Task<List<double>> BrowserKeystrokesAsync(LtbApiClient client, string lab, int count, CancellationToken ct)
{
    using var socket = await client.OpenConsoleSocketAsync(lab, "a", null, (24, 80), ct);
    var echo = new SocketEcho(socket);
    await echo.SendAsync("exec cat\r"u8.ToArray(), ct);
    await echo.WaitQuietAsync(ct);
    return await MeasureAsync(count, b => echo.SendAsync([b], ct), b => echo.WaitForAsync(b, ct));
}

static Task<List<double>> SshKeystrokesAsync(string key, int port, string lab, int count, CancellationToken ct) =>
    TerminalKeystrokesAsync("ssh", ["-tt", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=no",
        "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-i", key, "-p", port.ToString(CultureInfo.InvariantCulture),
        "ltb@127.0.0.1", $"{lab}/a", "--", "cat"], count, ct);

/// <summary>A terminal program (ssh -tt, script) whose far end runs `cat` in a TTY: each key's time until it came back.</summary>
static async Task<List<double>> TerminalKeystrokesAsync(string program, string[] arguments, int count, CancellationToken ct)
{
    var psi = new ProcessStartInfo(program) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
    foreach (var a in arguments)
    {
        psi.ArgumentList.Add(a);
    }
    using var terminal = Process.Start(psi)!;
    var stdin = terminal.StandardInput.BaseStream;
    var echo = new StreamEcho(terminal.StandardOutput.BaseStream);
    // Ready once a key comes back (an SSH session starts two .NET programs: a second or two).
    var ready = Stopwatch.StartNew();
    while (!await echo.TryWaitForAsync((byte)'z', TimeSpan.FromMilliseconds(500), ct))
    {
        if (ready.Elapsed > TimeSpan.FromSeconds(60) || terminal.HasExited)
        {
            throw new InvalidOperationException($"{program} did not start a session: {await terminal.StandardError.ReadToEndAsync(ct)}");
        }
        await stdin.WriteAsync("z"u8.ToArray(), ct);
        await stdin.FlushAsync(ct);
    }
    await echo.WaitQuietAsync(ct);
    var times = await MeasureAsync(count, async b =>
    {
        await stdin.WriteAsync(new[] { b }, ct);
        await stdin.FlushAsync(ct);
    }, b => echo.WaitForAsync(b, ct));
    terminal.Kill(entireProcessTree: true);
    return times;
}

static async Task<List<double>> MeasureAsync(int count, Func<byte, Task> send, Func<byte, Task> echoed)
{
    var times = new List<double>(count);
    for (var i = 0; i < count; i++)
    {
        var key = (byte)('a' + i % 26);
        var sw = Stopwatch.StartNew();
        await send(key);
        await echoed(key);
        times.Add(sw.Elapsed.TotalMilliseconds);
    }
    return times;
}

static void Report(string what, List<double> ms) => Console.WriteLine(
    $"{what}: n={ms.Count} p50 {Percentile(ms, 0.5):0.00} ms, p95 {Percentile(ms, 0.95):0.00} ms, p99 {Percentile(ms, 0.99):0.00} ms, max {ms.Max():0.00} ms");

static double Percentile(List<double> values, double p)
{
    var sorted = values.Order().ToList();
    return sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];
}

static async Task RunAsync(string file, params string[] arguments)
{
    using var p = Process.Start(file, arguments);
    await p.WaitForExitAsync();
    if (p.ExitCode != 0)
    {
        throw new InvalidOperationException($"{file} failed ({p.ExitCode})");
    }
}

internal sealed record Settings(int Keystrokes, int Consoles, int Seconds, string? Ltb)
{
    public static Settings Parse(string[] args)
    {
        var s = new Settings(1000, 50, 20, null);
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            s = args[i] switch
            {
                "--keystrokes" => s with { Keystrokes = int.Parse(args[i + 1], CultureInfo.InvariantCulture) },
                "--consoles" => s with { Consoles = int.Parse(args[i + 1], CultureInfo.InvariantCulture) },
                "--seconds" => s with { Seconds = int.Parse(args[i + 1], CultureInfo.InvariantCulture) },
                "--ltb" => s with { Ltb = args[i + 1] },
                _ => throw new ArgumentException($"unknown option {args[i]}"),
            };
        }
        return s;
    }
}
