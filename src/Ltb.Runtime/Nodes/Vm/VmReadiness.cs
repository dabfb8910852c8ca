using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Ltb.Runtime.Status;

namespace Ltb.Runtime.Nodes.Vm;

/// <summary>
/// Waits until a VM is ready as its node type says: its serial console printed a line matching a pattern (read from
/// the console log, from where this boot began), and/or a TCP port on its management address accepts connections. The
/// console check is met by a guest resumed from a RAM state (<see cref="VmNodeFiles.ResumedMark"/>: it does not boot). The
/// budget is the type's timeout (times <see cref="VmNodes.TcgReadinessFactor"/> under TCG); a guest that is not ready by
/// then, or whose QEMU ends meanwhile, fails naming the node, the check and what the console printed last.
/// </summary>
internal static class VmReadiness
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(250);
    private const int MaxConsoleRead = 4 << 20;

    public static TimeSpan Budget(VmNodeRecord r) => TimeSpan.FromSeconds(r.ReadyTimeoutSeconds * (r.Tcg ? VmNodes.TcgReadinessFactor : 1));

    public static async Task WaitAsync(VmNodeFiles files, VmNodeRecord r, CancellationToken ct)
    {
        if (r.ReadyLog is null && r.ReadyPort is null)
        {
            return;
        }
        var budget = Budget(r);
        var until = DateTime.UtcNow + budget;
        var pattern = r.ReadyLog is null ? null : new Regex(r.ReadyLog, RegexOptions.Multiline, TimeSpan.FromSeconds(1));
        // A guest resumed from a snapshot's RAM state does not boot: its console printed the line before it was saved.
        var logSeen = pattern is null || File.Exists(files.ResumedMark);
        var portSeen = r.ReadyPort is null;
        while (true)
        {
            logSeen = logSeen || pattern!.IsMatch(ConsoleSinceBoot(files));
            portSeen = portSeen || await PortOpenAsync(r.MgmtIpv4, r.ReadyPort!.Value, ct);
            if (logSeen && portSeen)
            {
                return;
            }
            if (files.RunningPid() is null)
            {
                throw new LabRuntimeException(r.Lab, r.Node, $"QEMU ended while the VM was booting; the console's last lines: {Tail(files)}");
            }
            if (DateTime.UtcNow > until)
            {
                var check = !logSeen ? $"its serial console never printed a line matching '{r.ReadyLog}'"
                    : $"nothing accepted connections on TCP port {r.ReadyPort} of its management address {r.MgmtIpv4 ?? "(none)"}";
                throw new LabRuntimeException(r.Lab, r.Node,
                    $"the VM was not ready within {budget.TotalSeconds:0} s{(r.Tcg ? " (TCG emulation: KVM is not usable on this host)" : "")}: {check}; " +
                    $"the console's last lines: {Tail(files)}");
            }
            await Task.Delay(Poll, ct);
        }
    }

    private static string Tail(VmNodeFiles files) => files.ConsoleTail(300) is { Length: > 0 } t ? t.ReplaceLineEndings(" | ") : "(none)";

    /// <summary>What the console printed since this boot began (at most the last 4 MiB of it).</summary>
    private static string ConsoleSinceBoot(VmNodeFiles files)
    {
        try
        {
            var offset = File.Exists(files.BootOffset) ? long.Parse(File.ReadAllText(files.BootOffset), System.Globalization.CultureInfo.InvariantCulture) : 0;
            using var f = new FileStream(files.ConsoleLog, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            f.Seek(Math.Max(offset, f.Length - MaxConsoleRead), SeekOrigin.Begin);
            using var reader = new StreamReader(f, Encoding.UTF8);
            return reader.ReadToEnd().Replace("\r", "", StringComparison.Ordinal);
        }
        catch (Exception e) when (e is IOException or FormatException)
        {
            return "";
        }
    }

    private static async Task<bool> PortOpenAsync(string? address, int port, CancellationToken ct)
    {
        if (address is null)
        {
            return false;
        }
        using var client = new TcpClient();
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(ct);
        attempt.CancelAfter(TimeSpan.FromSeconds(2));
        try
        {
            await client.ConnectAsync(System.Net.IPAddress.Parse(address), port, attempt.Token);
            return true;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException && !ct.IsCancellationRequested)
        {
            return false;
        }
    }
}
