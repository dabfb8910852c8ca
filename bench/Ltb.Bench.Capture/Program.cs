using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Ltb.Client;
using Ltb.Contracts;

// Usage: Ltb.Bench.Capture [--seconds 5] [--viewers 10] [--ltb PATH]
// Starts a real `ltb serve` (root; a fresh data folder, a free loopback port), deploys two ltb/nettools nodes a and b
// joined by a veth link, and sends UDP from a to b with iperf3 (64-byte payloads: 106-byte frames) at rising rates for
// --seconds each. At each rate it captures a:eth1 (filter `udp`) three ways:
//   0. baseline in the same run: tcpdump on the host in a's namespace, writing to /dev/null (what the kernel and
//      libpcap deliver without LTB; its own "received by filter" and "dropped by kernel" counts);
//   1. one live capture stream through the API (agent -> controller -> pcapng over HTTP), counted by a reader that keeps up;
//   2. --viewers streams of the same interface at once (one tcpdump, fanned out), each counted.
// A stream is lossless at a rate when it delivered every datagram iperf3 sent (its statistics block reports no drop).
// Prints, per rate, the datagrams sent and what each path delivered; then the highest lossless rate of each.
var settings = Settings.Parse(args);
var repo = Machine.RepoRoot();
var data = Directory.CreateTempSubdirectory("ltb-bench-capture-").FullName;
var password = "Bench-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(8)) + "a1";
var url = $"http://127.0.0.1:{BenchLab.FreePort()}";
Console.WriteLine($"machine: {Machine.Describe()}");
using var server = ServeProcess.Start(settings.Ltb ?? Path.Combine(repo, "ltb"), data, url, password, readCache: true,
    new Dictionary<string, string> { ["LTB_SSH_PORT"] = "off" });
var ct = CancellationToken.None;
LtbApiClient? admin = null;
string? lab = null;
var exit = 1;
try
{
    await server.WaitUntilListeningAsync(TimeSpan.FromMinutes(5));
    using (var anonymous = new LtbApiClient(new Uri(url), null))
    {
        admin = new LtbApiClient(new Uri(url), (await anonymous.SignInAsync("admin", password, ct)).Token);
    }
    var labName = "capb" + Convert.ToHexString(RandomNumberGenerator.GetBytes(2)).ToLowerInvariant();
    var deployed = await BenchLab.DeployAsync(admin, labName, $$"""
        name: {{labName}}
        topology:
          nodes:
            a: {kind: linux, image: "ltb/nettools:latest", exec: ["ip addr add 10.0.0.1/24 dev eth1"]}
            b: {kind: linux, image: "ltb/nettools:latest", exec: ["ip addr add 10.0.0.2/24 dev eth1"]}
          links:
            - endpoints: ["a:eth1", "b:eth1"]
        """, ct);
    var runtime = deployed.RuntimeName;
    lab = deployed.Id.ToString();
    await admin.ExecInNodeAsync(lab, new ExecRequest("b", ["iperf3", "-s", "-D"]), ct);
    await Task.Delay(1000);
    // A user has at most CaptureLimits.MaxPerUser captures open: the viewers are admins of their own, that many each
    // (few sign-ins: the server limits them per address).
    var viewers = new List<LtbApiClient>();
    using (var anonymous = new LtbApiClient(new Uri(url), null))
    {
        for (var u = 0; u * CaptureLimits.MaxPerUser < settings.Viewers; u++)
        {
            var name = $"viewer{u}";
            await admin.CreateUserAsync(new CreateUserRequest(name, password, Roles: ["admin"]), ct);
            var client = new LtbApiClient(new Uri(url), (await anonymous.SignInAsync(name, password, ct)).Token);
            viewers.AddRange(Enumerable.Repeat(client, Math.Min(CaptureLimits.MaxPerUser, settings.Viewers - viewers.Count)));
        }
    }
    var best = new Dictionary<string, int>();
    foreach (var rate in settings.Rates)
    {
        var baseline = await MeasureAsync(rate, settings.Seconds, () => TcpdumpAsync(runtime, settings.Seconds + 3), admin, lab, ct);
        var one = await MeasureAsync(rate, settings.Seconds, () => StreamsAsync(viewers.Take(1), lab, settings.Seconds + 3), admin, lab, ct);
        var many = await MeasureAsync(rate, settings.Seconds, () => StreamsAsync(viewers, lab, settings.Seconds + 3), admin, lab, ct);
        Console.WriteLine($"{rate,7} pps offered: sent {one.Sent}/{baseline.Sent}/{many.Sent}; baseline tcpdump got {baseline.Min} " +
            $"(dropped {baseline.Dropped}); 1 stream got {one.Min} (dropped {one.Dropped}); {settings.Viewers} streams got " +
            $"{many.Min}..{many.Max} (dropped {many.Dropped} in all)");
        foreach (var (name, r) in new[] { ("baseline", baseline), ("one stream", one), ($"{settings.Viewers} streams", many) })
        {
            if (r.Lossless)
            {
                best[name] = Math.Max(best.GetValueOrDefault(name), (int)(r.Sent / (double)settings.Seconds));
            }
        }
    }
    foreach (var (name, pps) in best)
    {
        Console.WriteLine($"highest lossless rate, {name}: {pps} datagrams/s");
    }
    exit = 0;
}
catch (Exception e)
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

// One rate: the captures start, iperf3 sends for `seconds`, the captures end by their own time limit.
static async Task<Result> MeasureAsync(int rate, int seconds, Func<Task<List<(long Got, long Dropped)>>> capture, LtbApiClient admin,
    string lab, CancellationToken ct)
{
    var counting = capture();
    await Task.Delay(1500, ct);
    var bits = (long)rate * 64 * 8;
    var run = await admin.ExecInNodeAsync(lab, new ExecRequest("a",
        ["iperf3", "-c", "10.0.0.2", "-u", "-l", "64", "-b", bits.ToString(CultureInfo.InvariantCulture), "-t", seconds.ToString(CultureInfo.InvariantCulture), "-J"]), ct);
    using var report = JsonDocument.Parse(run.Stdout);
    var sent = report.RootElement.GetProperty("end").GetProperty("sum").GetProperty("packets").GetInt64();
    var got = await counting;
    return new Result(sent, got.Min(g => g.Got), got.Max(g => g.Got), got.Sum(g => g.Dropped));
}

// tcpdump on the host in a's namespace: its own counts (no LTB in the path).
static async Task<List<(long, long)>> TcpdumpAsync(string runtime, int seconds)
{
    var psi = new ProcessStartInfo("timeout") { RedirectStandardError = true, RedirectStandardOutput = true };
    foreach (var a in (string[])["-s", "INT", seconds.ToString(CultureInfo.InvariantCulture), "nsenter", $"--net=/run/netns/ltb-{runtime}-a",
                 "tcpdump", "-i", "eth1", "-w", "/dev/null", "-n", "--immediate-mode", "udp"])
    {
        psi.ArgumentList.Add(a);
    }
    using var p = Process.Start(psi)!;
    var stderr = await p.StandardError.ReadToEndAsync();
    await p.WaitForExitAsync();
    long Count(string what) => stderr.Split('\n').Where(l => l.Contains(what, StringComparison.Ordinal))
        .Select(l => long.Parse(l.Trim().Split(' ')[0], CultureInfo.InvariantCulture)).FirstOrDefault();
    return [(Count("packets received by filter") - Count("packets dropped by kernel"), Count("packets dropped by kernel"))];
}

// One live capture stream of a:eth1 per viewer at once, each read as fast as it comes and counted (packets, reported drops).
static async Task<List<(long, long)>> StreamsAsync(IEnumerable<LtbApiClient> viewers, string lab, int seconds)
{
    var query = new CaptureQuery(["a:eth1"], "udp", Seconds: seconds);
    var streams = viewers.Select(async viewer =>
    {
        using var response = await viewer.OpenCaptureAsync(lab, query, CancellationToken.None);
        await using var body = await response.Content.ReadAsStreamAsync();
        long packets = 0, dropped = 0;
        await foreach (var block in new PcapngReader(body).ReadAsync(CancellationToken.None))
        {
            switch (block)
            {
                case PcapngPacket:
                    packets++;
                    break;
                case PcapngStatistics s:
                    dropped += (long)(s.Dropped ?? 0);
                    break;
            }
        }
        return (packets, dropped);
    });
    return [.. await Task.WhenAll(streams)];
}

/// <summary>One path at one rate: datagrams iperf3 sent; the fewest and most any reader got; the drops reported in all.</summary>
internal sealed record Result(long Sent, long Min, long Max, long Dropped)
{
    public bool Lossless => Min >= Sent && Dropped == 0;
}

internal sealed record Settings(int Seconds, int Viewers, string? Ltb, int[] Rates)
{
    public static Settings Parse(string[] args)
    {
        var s = new Settings(5, 10, null, [5_000, 10_000, 20_000, 40_000, 80_000]);
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            s = args[i] switch
            {
                "--seconds" => s with { Seconds = int.Parse(args[i + 1], CultureInfo.InvariantCulture) },
                "--viewers" => s with { Viewers = int.Parse(args[i + 1], CultureInfo.InvariantCulture) },
                "--ltb" => s with { Ltb = args[i + 1] },
                "--rates" => s with { Rates = [.. args[i + 1].Split(',').Select(r => int.Parse(r, CultureInfo.InvariantCulture))] },
                _ => throw new ArgumentException($"unknown option {args[i]}"),
            };
        }
        return s;
    }
}
