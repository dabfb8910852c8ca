using System.Text;
using Ltb.Runtime.Docker;

namespace Ltb.Runtime.Nodes.Vm;

/// <summary>
/// A VM's output for <c>logs</c>: its serial console's log file (QEMU writes every byte of the console there), its
/// last lines, then, following, what is appended (read every 250 ms while the stream is open). Bounded like a
/// container's logs: at most the clamped limit when one is given, and pieces of at most 16 KiB.
/// </summary>
internal static class ConsoleLog
{
    private const int Piece = 16 * 1024;
    private const int MaxTailBytes = 1 << 20;

    public static async Task<bool> StreamAsync(VmNodeFiles files, int? tail, bool follow, long? limitBytes,
        Func<string, CancellationToken, ValueTask> write, CancellationToken ct)
    {
        await write("", ct);
        var left = limitBytes is { } l ? Math.Clamp(l, 0, ContainerExec.HardLimitBytes) : long.MaxValue;
        if (!File.Exists(files.ConsoleLog))
        {
            return false;
        }
        await using var f = new FileStream(files.ConsoleLog, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        f.Seek(await TailStartAsync(f, tail, ct), SeekOrigin.Begin);
        var bytes = new byte[Piece];
        var utf8 = Encoding.UTF8.GetDecoder();
        var chars = new char[Encoding.UTF8.GetMaxCharCount(Piece)];
        while (true)
        {
            var read = await f.ReadAsync(bytes.AsMemory(0, (int)Math.Min(Piece, left == long.MaxValue ? Piece : left + 1)), ct);
            if (read == 0)
            {
                if (!follow)
                {
                    return false;
                }
                await Task.Delay(250, ct);
                continue;
            }
            var take = (int)Math.Min(read, left);
            left -= take;
            var count = utf8.GetChars(bytes, 0, take, chars, 0, flush: false);
            if (count > 0)
            {
                await write(new string(chars, 0, count), ct);
            }
            if (read > take)
            {
                return true;
            }
        }
    }

    /// <summary>Where the last <paramref name="tail"/> lines begin (all: 0), looking at most 1 MiB back.</summary>
    private static async Task<long> TailStartAsync(FileStream f, int? tail, CancellationToken ct)
    {
        if (tail is not { } lines)
        {
            return 0;
        }
        var start = Math.Max(0, f.Length - MaxTailBytes);
        var buffer = new byte[f.Length - start];
        f.Seek(start, SeekOrigin.Begin);
        await f.ReadExactlyAsync(buffer, ct);
        var end = buffer.Length > 0 && buffer[^1] == '\n' ? buffer.Length - 1 : buffer.Length;
        if (lines <= 0)
        {
            return f.Length;
        }
        var seen = 0;
        for (var i = end - 1; i >= 0; i--)
        {
            if (buffer[i] == '\n' && ++seen == lines)
            {
                return start + i + 1;
            }
        }
        return start;
    }
}
