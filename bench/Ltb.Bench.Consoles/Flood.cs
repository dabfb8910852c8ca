using System.Diagnostics;
using System.Net.WebSockets;
using Ltb.Client;
using Ltb.Contracts;

/// <summary>
/// Many consoles printing as fast as they can (`yes`), each read by a client that keeps up; meanwhile the server
/// process's CPU time and memory, and the keystroke round trip on one more console.
/// </summary>
internal static class Flood
{
    /// <summary>Console sessions one user may hold (ConsoleSessions.MaxPerUser): the flood's consoles come from several admins.</summary>
    private const int PerUser = 8;

    public sealed record Result(double CpuPercent, double RssMiB, double IdleRssMiB, double MiBPerSecond, List<double> Keystrokes);

    public static async Task<Result> RunAsync(string url, string adminPassword, LtbApiClient admin, string lab, int serverPid, Settings settings,
        CancellationToken ct)
    {
        var clients = new List<LtbApiClient>();
        var sockets = new List<WebSocket>();
        long delivered = 0;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        try
        {
            // One extra user for the console that measures keystrokes during the flood.
            for (var u = 0; u < (settings.Consoles + PerUser - 1) / PerUser + 1; u++)
            {
                var name = $"flood{u}{Guid.NewGuid().ToString("N")[..6]}";
                await admin.CreateUserAsync(new CreateUserRequest(name, adminPassword, Roles: ["admin"]), ct);
                using var anonymous = new LtbApiClient(new Uri(url), null);
                clients.Add(new LtbApiClient(new Uri(url), (await anonymous.SignInAsync(name, adminPassword, ct)).Token));
            }
            var idleRss = ProcessStats.RssMiB(serverPid);
            var readers = new List<Task>();
            for (var i = 0; i < settings.Consoles; i++)
            {
                var socket = await clients[i / PerUser].OpenConsoleSocketAsync(lab, "a", null, (24, 80), ct);
                sockets.Add(socket);
                await socket.SendAsync("yes ltb-console-flood\r"u8.ToArray(), WebSocketMessageType.Binary, true, ct);
                readers.Add(Task.Run(async () =>
                {
                    var buffer = new byte[ExecSocketFrames.MaxMessageBytes];
                    try
                    {
                        while (await ExecSocketFrames.ReceiveAsync(socket, buffer, stop.Token) is { } m)
                        {
                            Interlocked.Add(ref delivered, m.Count);
                        }
                    }
                    catch (Exception e) when (e is WebSocketException or OperationCanceledException)
                    {
                    }
                }, CancellationToken.None));
            }
            await Task.Delay(TimeSpan.FromSeconds(3), ct); // every console flooding
            var cpuBefore = ProcessStats.CpuSeconds(serverPid);
            var bytesBefore = Interlocked.Read(ref delivered);
            var clock = Stopwatch.StartNew();
            var maxRss = 0.0;
            var sampling = Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    maxRss = Math.Max(maxRss, ProcessStats.RssMiB(serverPid));
                    await Task.Delay(500, CancellationToken.None);
                }
            }, CancellationToken.None);
            var measuring = Task.Run(async () =>
            {
                using var socket = await clients[^1].OpenConsoleSocketAsync(lab, "a", null, (24, 80), ct);
                var echo = new SocketEcho(socket);
                await echo.SendAsync("exec cat\r"u8.ToArray(), ct);
                await echo.WaitQuietAsync(ct);
                var times = new List<double>();
                while (clock.Elapsed < TimeSpan.FromSeconds(settings.Seconds) && times.Count < settings.Keystrokes)
                {
                    var key = (byte)('a' + times.Count % 26);
                    var sw = Stopwatch.StartNew();
                    await echo.SendAsync([key], ct);
                    await echo.WaitForAsync(key, ct);
                    times.Add(sw.Elapsed.TotalMilliseconds);
                    await Task.Delay(10, ct);
                }
                return times;
            }, ct);
            var keystrokes = await measuring;
            var remaining = TimeSpan.FromSeconds(settings.Seconds) - clock.Elapsed;
            if (remaining > TimeSpan.Zero)
            {
                await Task.Delay(remaining, ct);
            }
            var seconds = clock.Elapsed.TotalSeconds;
            var cpu = (ProcessStats.CpuSeconds(serverPid) - cpuBefore) / seconds * 100;
            var mib = (Interlocked.Read(ref delivered) - bytesBefore) / seconds / 1024 / 1024;
            await stop.CancelAsync();
            await sampling;
            return new Result(cpu, maxRss, idleRss, mib, keystrokes);
        }
        finally
        {
            await stop.CancelAsync();
            foreach (var socket in sockets)
            {
                socket.Abort();
                socket.Dispose();
            }
            foreach (var client in clients)
            {
                client.Dispose();
            }
        }
    }
}
