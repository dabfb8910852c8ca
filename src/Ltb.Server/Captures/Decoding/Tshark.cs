using System.Diagnostics;
using System.Globalization;
using System.Text;
using Ltb.Contracts;

namespace Ltb.Server.Captures.Decoding;

/// <summary>A display filter tshark refused: the message is tshark's.</summary>
public sealed class InvalidDisplayFilterException(string message) : Exception(message);

/// <summary>
/// tshark on the controller, where Wireshark's dissectors decode captured packets for the browser. The packets are the
/// students' own bytes and dissectors are large C parsers, so tshark never runs with the server's rights: as root, it is
/// started through <c>setpriv</c> as nobody:nogroup with no supplementary groups, no capabilities and no_new_privs, with
/// an empty environment and a HOME that does not exist (no personal configuration, no Lua plugins from a user folder).
/// It reads its input only from stdin (never a path) and writes text to stdout: it opens no file of the server's.
/// </summary>
public static class Tshark
{
    /// <summary>The columns of a decoded row, in the order <see cref="ParseRow"/> reads them (Info last: it may hold tabs).</summary>
    private static readonly string[] RowFields =
        ["frame.number", "frame.time_epoch", "frame.time_relative", "frame.interface_name", "_ws.col.Source", "_ws.col.Destination",
         "_ws.col.Protocol", "frame.len", "_ws.col.Info"];

    private const int NobodyId = 65534;
    private const int TreeOutputLimit = 256 * 1024;

    public static bool Installed => File.Exists("/usr/bin/tshark") || File.Exists("/usr/local/bin/tshark");

    /// <summary>tshark reading pcapng from stdin and writing one tab-separated row per packet the display filter keeps.</summary>
    public static Process StartDecoder(string? displayFilter)
    {
        List<string> args = ["-l", "-n", "-r", "-", "-T", "fields", "-E", "separator=/t", "-E", "occurrence=f", "-E", "quote=n"];
        foreach (var f in RowFields)
        {
            args.AddRange(["-e", f]);
        }
        if (!string.IsNullOrEmpty(displayFilter))
        {
            args.AddRange(["-Y", displayFilter]);
        }
        return Start(args);
    }

    /// <summary>One decoded row, or null for a line that is not one (tshark's messages go to stderr, so this is rare).</summary>
    public static DecodedPacketDto? ParseRow(string line)
    {
        var f = line.Split('\t', RowFields.Length);
        if (f.Length < RowFields.Length || !int.TryParse(f[0], CultureInfo.InvariantCulture, out var number))
        {
            return null;
        }
        var epoch = double.TryParse(f[1], CultureInfo.InvariantCulture, out var e) ? e : 0;
        var relative = double.TryParse(f[2], CultureInfo.InvariantCulture, out var r) ? r : 0;
        return new DecodedPacketDto(number, DateTimeOffset.FromUnixTimeMilliseconds((long)(epoch * 1000)), relative, f[3], f[4], f[5], f[6],
            int.TryParse(f[7], CultureInfo.InvariantCulture, out var length) ? length : 0, f[8]);
    }

    /// <summary>
    /// Checks a display filter by letting tshark compile it against an empty capture; tshark's message when it refuses.
    /// </summary>
    public static async Task ValidateAsync(string displayFilter, CancellationToken ct)
    {
        using var empty = new MemoryStream();
        var writer = new PcapngWriter(empty);
        await writer.WriteSectionHeaderAsync("LTB", ct);
        await writer.WriteInterfaceAsync("check", 1, 65535, ct);
        var (exit, _, stderr) = await RunAsync(["-n", "-r", "-", "-Y", displayFilter], empty.ToArray(), ct);
        if (exit != 0)
        {
            throw new InvalidDisplayFilterException(Message(stderr));
        }
    }

    /// <summary>The protocol tree of one packet (tshark -V), text lines indented by level; bounded output.</summary>
    public static async Task<IReadOnlyList<string>> TreeAsync(byte[] capture, int number, CancellationToken ct)
    {
        var (exit, stdout, stderr) = await RunAsync(["-n", "-r", "-", "-V", "-Y", $"frame.number == {number.ToString(CultureInfo.InvariantCulture)}"],
            capture, ct);
        // A capture still being written may end mid-block: tshark says so and exits 2, having printed the earlier packets.
        if (exit != 0 && stdout.Length == 0)
        {
            throw new InvalidOperationException($"tshark could not decode packet {number}: {Message(stderr)}");
        }
        return stdout.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Length > 0).ToList();
    }

    private static async Task<(int Exit, string Stdout, string Stderr)> RunAsync(List<string> args, byte[] stdin, CancellationToken ct)
    {
        using var process = Start(args);
        var stdout = ReadBoundedAsync(process.StandardOutput, TreeOutputLimit);
        var stderr = ReadBoundedAsync(process.StandardError, 16 * 1024);
        try
        {
            await process.StandardInput.BaseStream.WriteAsync(stdin, ct);
            process.StandardInput.Close();
        }
        catch (IOException)
        {
            // tshark stopped reading (it refused the filter at once): its message says why.
        }
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
        return (process.ExitCode, await stdout, await stderr);
    }

    private static Process Start(List<string> args)
    {
        var start = new ProcessStartInfo
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
        };
        start.Environment.Clear();
        start.Environment["PATH"] = "/usr/local/bin:/usr/bin:/bin";
        start.Environment["HOME"] = "/nonexistent";
        start.Environment["LANG"] = "C.UTF-8";
        if (Environment.IsPrivilegedProcess)
        {
            start.FileName = "setpriv";
            foreach (var a in (string[])[$"--reuid={NobodyId}", $"--regid={NobodyId}", "--clear-groups", "--no-new-privs", "--inh-caps=-all",
                         "--bounding-set=-all", "--", "tshark"])
            {
                start.ArgumentList.Add(a);
            }
        }
        else
        {
            start.FileName = "tshark";
        }
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }
        return Process.Start(start) ?? throw new InvalidOperationException("tshark could not be started");
    }

    private static async Task<string> ReadBoundedAsync(StreamReader reader, int limit)
    {
        var text = new StringBuilder();
        var buffer = new char[8192];
        int n;
        while ((n = await reader.ReadAsync(buffer)) > 0)
        {
            if (text.Length < limit)
            {
                text.Append(buffer, 0, Math.Min(n, limit - text.Length));
            }
        }
        return text.ToString();
    }

    /// <summary>tshark's own words: its "tshark: ..." lines and what follows them, without the root warning.</summary>
    internal static string Message(string stderr)
    {
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(l => !l.StartsWith("Running as user", StringComparison.Ordinal))
            .Select(l => l.StartsWith("tshark: ", StringComparison.Ordinal) ? l["tshark: ".Length..] : l)
            .ToList();
        return lines.Count == 0 ? "(no message)" : lines[0];
    }
}
