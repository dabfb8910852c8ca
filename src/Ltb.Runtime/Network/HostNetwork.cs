using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Ltb.Runtime.Status;

namespace Ltb.Runtime.Network;

/// <summary><see cref="IHostNetwork"/> over iproute2, tc and Open vSwitch's command line tools.</summary>
public sealed partial class HostNetwork : IHostNetwork
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);
    private readonly ConcurrentDictionary<string, Task<bool>> _kinds = new(StringComparer.Ordinal);

    public TimeSpan Timeout { get; init; } = DefaultTimeout;

    [GeneratedRegex(@"Command failed -:(\d+)")]
    private static partial Regex FailedLine();

    public Task IpBatchAsync(string? netns, IReadOnlyList<string> lines, bool force, CancellationToken ct) =>
        BatchAsync("ip", netns, lines, force, ct);

    public Task TcBatchAsync(string? netns, IReadOnlyList<string> lines, bool force, CancellationToken ct) =>
        BatchAsync("tc", netns, lines, force, ct);

    private async Task BatchAsync(string tool, string? netns, IReadOnlyList<string> lines, bool force, CancellationToken ct)
    {
        if (lines.Count == 0)
        {
            return;
        }
        var args = new List<string>();
        if (netns is not null)
        {
            args.AddRange(["-n", netns]);
        }
        if (force)
        {
            args.Add("-force");
        }
        args.AddRange(["-batch", "-"]);
        var result = await RunAsync(tool, args, string.Join('\n', lines) + "\n", null, ct);
        if (!result.Succeeded && !force)
        {
            var m = FailedLine().Match(result.Stderr);
            var where = netns is null ? "on the host" : $"in namespace {netns}";
            var line = m.Success && int.TryParse(m.Groups[1].Value, out var n) && n >= 1 && n <= lines.Count ? lines[n - 1] : null;
            var said = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault()?.Trim() ?? "";
            throw new HostNetworkException(line is null
                ? $"{tool} -batch {where} failed: {result.Stderr.Trim()}"
                : $"'{tool} {line}' {where} failed: {said}", result);
        }
    }

    public async Task<IReadOnlyList<HostLink>> ListLinksAsync(string? netns, CancellationToken ct)
    {
        var args = new List<string>();
        if (netns is not null)
        {
            args.AddRange(["-n", netns]);
        }
        args.AddRange(["-json", "-details", "link", "show"]);
        var result = await RunAsync("ip", args, null, null, ct);
        if (!result.Succeeded)
        {
            throw new HostNetworkException($"ip link show {(netns is null ? "on the host" : $"in namespace {netns}")} failed: {result.Stderr.Trim()}", result);
        }
        using var doc = JsonDocument.Parse(result.Stdout);
        var list = new List<HostLink>();
        foreach (var e in doc.RootElement.EnumerateArray())
        {
            string? Str(string p) => e.TryGetProperty(p, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
            var kind = e.TryGetProperty("linkinfo", out var li) && li.TryGetProperty("info_kind", out var k) ? k.GetString() : null;
            list.Add(new HostLink(
                e.GetProperty("ifindex").GetInt32(),
                e.GetProperty("ifname").GetString()!,
                Str("address"),
                e.TryGetProperty("mtu", out var mtu) ? mtu.GetInt32() : 0,
                e.TryGetProperty("flags", out var f) ? f.EnumerateArray().Select(x => x.GetString()!).ToList() : [],
                Str("ifalias"),
                kind,
                Str("master"),
                Str("operstate") ?? "UNKNOWN",
                e.TryGetProperty("link_index", out var peer) && peer.ValueKind == JsonValueKind.Number ? peer.GetInt32() : null));
        }
        return list;
    }

    public async Task<IReadOnlyList<InterfaceDetails>> ReadInterfacesAsync(string netns, CancellationToken ct)
    {
        var result = await RunAsync("ip", ["-n", netns, "-json", "-s", "addr", "show"], null, null, ct);
        if (!result.Succeeded)
        {
            throw new HostNetworkException($"ip addr show in namespace {netns} failed: {result.Stderr.Trim()}", result);
        }
        return InterfaceReadings.Parse(result.Stdout);
    }

    public IReadOnlyList<string> ListNamespaces() =>
        Directory.Exists("/run/netns") ? Directory.GetFiles("/run/netns").Select(Path.GetFileName).OfType<string>().ToList() : [];

    public async Task<string> OvsVsctlAsync(IReadOnlyList<IReadOnlyList<string>> commands, CancellationToken ct)
    {
        var args = new List<string> { $"--timeout={(int)Timeout.TotalSeconds}" };
        for (var i = 0; i < commands.Count; i++)
        {
            if (i > 0)
            {
                args.Add("--");
            }
            args.AddRange(commands[i]);
        }
        var result = await RunAsync("ovs-vsctl", args, null, null, ct);
        if (!result.Succeeded)
        {
            throw new HostNetworkException($"ovs-vsctl failed: {result.Stderr.Trim()}", result);
        }
        return result.Stdout;
    }

    public async Task OvsAddFlowsAsync(string bridge, IReadOnlyList<string> flows, CancellationToken ct)
    {
        var result = await RunAsync("ovs-ofctl", ["add-flows", bridge, "-"], string.Join('\n', flows) + "\n", null, ct);
        if (!result.Succeeded)
        {
            throw new HostNetworkException($"ovs-ofctl add-flows {bridge} failed: {result.Stderr.Trim()}", result);
        }
    }

    public Task<bool> SupportsLinkKindAsync(string kind, CancellationToken ct) => _kinds.GetOrAdd(kind, async k =>
    {
        // Probe in a private namespace so that nothing appears on the host, then drop it.
        var probe = $"ltb-probe-{Guid.NewGuid():N}"[..20];
        var add = await RunAsync("ip", ["netns", "add", probe], null, null, CancellationToken.None);
        if (!add.Succeeded)
        {
            return false;
        }
        try
        {
            var r = await RunAsync("ip", ["-n", probe, "link", "add", "ltbprobe0", "type", k], null, null, CancellationToken.None);
            return r.Succeeded;
        }
        finally
        {
            await RunAsync("ip", ["netns", "delete", probe], null, null, CancellationToken.None);
        }
    });

    public async Task<bool> OvsAvailableAsync(CancellationToken ct)
    {
        try
        {
            return (await RunAsync("ovs-vsctl", ["--timeout=3", "show"], null, TimeSpan.FromSeconds(10), ct)).Succeeded;
        }
        catch (HostNetworkException)
        {
            return false;
        }
    }

    private static bool BridgeNetfilterActive =>
        File.Exists("/proc/sys/net/bridge/bridge-nf-call-iptables") && File.ReadAllText("/proc/sys/net/bridge/bridge-nf-call-iptables").Trim() == "1";

    private async Task<string> FirewallChainAsync(CancellationToken ct) =>
        (await RunAsync("iptables", ["-w", "5", "-S", "DOCKER-USER"], null, null, ct)).Succeeded ? "DOCKER-USER" : "FORWARD";

    public async Task AllowBridgedAsync(IReadOnlyList<(string Bridge, string Comment)> bridges, CancellationToken ct)
    {
        if (bridges.Count == 0 || !BridgeNetfilterActive)
        {
            return;
        }
        var chain = await FirewallChainAsync(ct);
        var lines = new List<string> { "*filter" };
        lines.AddRange(bridges.Select(b => $"-I {chain} -i {b.Bridge} -o {b.Bridge} -m comment --comment {b.Comment} -j ACCEPT"));
        lines.Add("COMMIT");
        var r = await RunAsync("iptables-restore", ["-w", "5", "--noflush"], string.Join('\n', lines) + "\n", null, ct);
        if (!r.Succeeded)
        {
            throw new HostNetworkException($"iptables-restore (letting bridged link traffic through the host firewall) failed: {r.Stderr.Trim()}", r);
        }
    }

    public async Task RemoveFirewallRulesAsync(string commentPrefix, CancellationToken ct)
    {
        if (!HostCommandExists("iptables"))
        {
            return;
        }
        var lines = new List<string> { "*filter" };
        foreach (var chain in new[] { "DOCKER-USER", "FORWARD" })
        {
            var r = await RunAsync("iptables", ["-w", "5", "-S", chain], null, null, ct);
            if (!r.Succeeded)
            {
                continue;
            }
            lines.AddRange(r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Where(l => l.StartsWith("-A ", StringComparison.Ordinal) && (l.Contains($"--comment {commentPrefix}", StringComparison.Ordinal) || l.Contains($"--comment \"{commentPrefix}", StringComparison.Ordinal)))
                .Select(l => "-D " + l[3..]));
        }
        if (lines.Count == 1)
        {
            return;
        }
        lines.Add("COMMIT");
        var d = await RunAsync("iptables-restore", ["-w", "5", "--noflush"], string.Join('\n', lines) + "\n", null, ct);
        if (!d.Succeeded)
        {
            throw new HostNetworkException($"iptables-restore (removing LTB's firewall rules) failed: {d.Stderr.Trim()}", d);
        }
    }

    private static bool HostCommandExists(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin").Split(':').Any(d => File.Exists(Path.Combine(d, name)));

    public async Task<ProcessResult> RunAsync(string file, IReadOnlyList<string> args, string? stdin, TimeSpan? timeout, CancellationToken ct)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = stdin is not null,
            UseShellExecute = false,
        };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        Process process;
        try
        {
            process = Process.Start(psi) ?? throw new HostNetworkException($"could not start {file}");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new HostNetworkException($"'{file}' is not installed on this host ({e.Message}); scripts/prepare-host.sh installs it");
        }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
            var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
            if (stdin is not null)
            {
                await process.StandardInput.WriteAsync(stdin);
                process.StandardInput.Close();
            }
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            cts.CancelAfter(timeout ?? Timeout);
            try
            {
                await process.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                try
                {
                    process.Kill(entireProcessTree: true);
                }
                catch (InvalidOperationException)
                {
                }
                ct.ThrowIfCancellationRequested();
                throw new HostNetworkException($"{file} {string.Join(' ', args)} did not finish within {timeout ?? Timeout}");
            }
            return new ProcessResult(process.ExitCode, await stdout, await stderr);
        }
    }
}
