using System.Diagnostics;
using System.Globalization;
using System.Text;
using Ltb.Runtime.Labs;
using Ltb.Runtime.Network;
using Ltb.Runtime.Nodes;
using Ltb.Runtime.Status;

namespace Ltb.Runtime.Capture;

/// <summary>What to capture on a node's interface (serialisable: it crosses to a remote host's agent).</summary>
/// <param name="Filter">A BPF filter (libpcap syntax); null or empty: every packet.</param>
/// <param name="SnapLength">The most bytes kept of each packet (clamped to 1..<see cref="PacketCapture.MaxSnapLength"/>).</param>
/// <param name="Mirror">Interface names a mirror interface of the lab (<see cref="MirrorInterfaces"/>) and Node the node
/// it mirrors (whose host has it).</param>
public sealed record PacketCaptureRequest(string Lab, string Node, string Interface, string? Filter, int SnapLength, bool Mirror = false);

/// <summary>The capture filter was refused by libpcap: <see cref="LabRuntimeException.Cause"/> is libpcap's message.</summary>
public sealed class InvalidCaptureFilterException(string lab, string node, string message)
    : LabRuntimeException(lab, node, message);

/// <summary>
/// Captures one interface of a node: tcpdump run on the host inside the node's pinned network namespace
/// (<c>nsenter --net=/run/netns/ltb-LAB-NODE tcpdump -i IFACE -w - -U</c>, an argument vector, no shell), so the node's
/// image needs no capture tool and the node cannot tamper with it. tcpdump writes pcap to its stdout, flushed per packet
/// (-U); the caller gets those bytes as they come. The process ends when the caller cancels or stops reading (it is
/// killed, and waited for), when the interface goes away, or when this process's reader fails: nothing is left behind.
/// </summary>
internal sealed class PacketCapture(LabContext x)
{
    public const int MaxSnapLength = 262144;
    private const int StderrKeep = 4096;
    private const int ChunkBytes = 64 * 1024;
    // nsenter's exit codes when it cannot execute the program (util-linux: EX_EXEC_FAILED, EX_EXEC_ENOENT).
    private const int NotExecutable = 126;
    private const int NotFound = 127;

    /// <summary>
    /// Validates the request (node, interface, filter), then streams tcpdump's pcap output to <paramref name="write"/>:
    /// the first piece is empty once the capture runs (failures come before it), then the bytes as tcpdump writes them.
    /// </summary>
    public async Task CaptureAsync(PacketCaptureRequest request, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> write, CancellationToken ct)
    {
        var (lab, node) = (request.Lab, request.Node);
        string netns;
        if (request.Mirror)
        {
            netns = Names.MirrorNetns(lab);
            if (!(await new MirrorInterfaces(x).ListAsync(lab, ct)).Any(m => m.Name == request.Interface))
            {
                throw new LabRuntimeException(lab, null, $"the lab has no mirror interface '{request.Interface}' (create one first)");
            }
        }
        else
        {
            x.Find(lab, node);
            netns = Names.Netns(lab, node);
            if (!x.Net.ListNamespaces().Contains(netns))
            {
                throw new LabRuntimeException(lab, node, "the node's network namespace is gone (is the node running?)");
            }
            var links = await x.Net.ListLinksAsync(netns, ct);
            if (links.All(l => l.Name != request.Interface))
            {
                throw new LabRuntimeException(lab, node, $"the node has no interface '{request.Interface}' (it has {string.Join(", ", links.Select(l => l.Name).Where(n => n != "lo"))})");
            }
        }
        var filter = string.IsNullOrWhiteSpace(request.Filter) ? null : request.Filter;
        if (filter is not null)
        {
            await ValidateFilterAsync(request, netns, filter, ct);
        }
        await RunAsync(request, netns, filter, write, ct);
    }

    /// <summary>tcpdump -d compiles the filter for the interface's link type without capturing: libpcap's message on failure.</summary>
    private async Task ValidateFilterAsync(PacketCaptureRequest request, string netns, string filter, CancellationToken ct)
    {
        var check = await x.Net.RunAsync("nsenter", [$"--net=/run/netns/{netns}", "tcpdump", "-d", "-i", request.Interface, "--", filter],
            null, TimeSpan.FromSeconds(15), ct);
        if (check.ExitCode is NotExecutable or NotFound)
        {
            throw new LabRuntimeException(request.Lab, request.Node, $"cannot run tcpdump on the lab's host (install it there): {check.Stderr.Trim()}");
        }
        if (!check.Succeeded)
        {
            throw new InvalidCaptureFilterException(request.Lab, request.Node, $"bad capture filter: {TcpdumpMessage(check.Stderr)}");
        }
    }

    private static async Task RunAsync(PacketCaptureRequest request, string netns, string? filter,
        Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> write, CancellationToken ct)
    {
        var snap = Math.Clamp(request.SnapLength, 1, MaxSnapLength);
        var start = new ProcessStartInfo("nsenter")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false,
        };
        // nsenter execs tcpdump (no fork): the process is tcpdump itself, and killing it ends the capture. -n: no name
        // lookups; --immediate-mode: packets are handed over as they arrive rather than in batches.
        foreach (var a in (string[])[$"--net=/run/netns/{netns}", "tcpdump", "-i", request.Interface, "-w", "-", "-U", "-n",
                     "-s", snap.ToString(CultureInfo.InvariantCulture), "--immediate-mode"])
        {
            start.ArgumentList.Add(a);
        }
        if (filter is not null)
        {
            start.ArgumentList.Add("--");
            start.ArgumentList.Add(filter);
        }
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new LabRuntimeException(request.Lab, request.Node, "could not start tcpdump");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new LabRuntimeException(request.Lab, request.Node, $"cannot run nsenter on the lab's host (util-linux): {e.Message}");
        }
        using var _ = process;
        process.StandardInput.Close();
        var stderr = ReadTailAsync(process.StandardError);
        try
        {
            var buffer = new byte[ChunkBytes];
            var stdout = process.StandardOutput.BaseStream;
            var opened = false;
            while (true)
            {
                var n = await stdout.ReadAsync(buffer, ct);
                if (n == 0)
                {
                    break;
                }
                if (!opened)
                {
                    opened = true;
                    await write(ReadOnlyMemory<byte>.Empty, ct);
                }
                // The writer copies what it keeps: the buffer is reused for the next read.
                await write(buffer.AsMemory(0, n), ct);
            }
            await process.WaitForExitAsync(ct);
            if (!opened)
            {
                throw new LabRuntimeException(request.Lab, request.Node,
                    $"tcpdump on {request.Interface} ended before it captured (exit {process.ExitCode}): {TcpdumpMessage(await stderr)}");
            }
        }
        finally
        {
            await StopAsync(process);
        }
    }

    /// <summary>Kills tcpdump if it still runs and waits for it, so that no capture outlives its stream.</summary>
    private static async Task StopAsync(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await process.WaitForExitAsync(wait.Token);
        }
        catch (Exception e) when (e is InvalidOperationException or OperationCanceledException or System.ComponentModel.Win32Exception)
        {
            // Already gone, or it did not die within 10 s (then the kernel reaps it once it does: it was sent SIGKILL).
        }
    }

    /// <summary>The last few KiB of what a process writes to stderr (tcpdump's messages; bounded however much it writes).</summary>
    private static async Task<string> ReadTailAsync(StreamReader reader)
    {
        var tail = new StringBuilder();
        var buffer = new char[1024];
        try
        {
            int n;
            while ((n = await reader.ReadAsync(buffer)) > 0)
            {
                tail.Append(buffer, 0, n);
                if (tail.Length > StderrKeep)
                {
                    tail.Remove(0, tail.Length - StderrKeep);
                }
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // The process was killed: what came so far is the message.
        }
        return tail.ToString();
    }

    /// <summary>tcpdump's error lines without its banner ("listening on ...") or the "tcpdump: " prefix: libpcap's own words.</summary>
    internal static string TcpdumpMessage(string stderr)
    {
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(l => !l.StartsWith("listening on", StringComparison.Ordinal) && !l.StartsWith("Warning:", StringComparison.Ordinal))
            .Select(l => l.StartsWith("tcpdump: ", StringComparison.Ordinal) ? l["tcpdump: ".Length..] : l)
            .ToList();
        return lines.Count == 0 ? "(no message)" : string.Join("; ", lines);
    }
}
