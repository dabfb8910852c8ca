namespace Ltb.Runtime.Nodes;

/// <summary>The size of a terminal, in characters.</summary>
public readonly record struct TerminalSize(int Rows, int Columns)
{
    /// <summary>The largest size accepted (a terminal is never bigger; a larger number is a mistake or an attack).</summary>
    public const int Max = 1000;

    public bool IsValid => Rows is > 0 and <= Max && Columns is > 0 and <= Max;
}

/// <summary>
/// What to run interactively in a node: an argument vector (never a shell line), with or without a terminal
/// (<paramref name="Tty"/>: stdout and stderr are one stream, the terminal's line discipline turns ^C into SIGINT).
/// </summary>
public sealed record ExecSessionRequest(string Lab, string Node, IReadOnlyList<string> Command, bool Tty, TerminalSize? Size)
{
    /// <summary>
    /// The node's own console instead of a command (<see cref="NodeCapabilities.Console"/>: a VM's serial line);
    /// <see cref="Command"/> and <see cref="Tty"/> are then ignored. One request shape reaches every agent (local, remote, spanning).
    /// </summary>
    public bool NodeConsole { get; init; }

    /// <summary>
    /// The node's graphical display (<see cref="NodeCapabilities.Display"/>: the raw RFB stream of a VM's VNC server)
    /// instead of a command; <see cref="Command"/>, <see cref="Tty"/> and <see cref="Size"/> are then ignored.
    /// </summary>
    public bool NodeDisplay { get; init; }
}

/// <summary>Which output a piece of an interactive command's output came from (with a terminal: always stdout).</summary>
public enum ExecStream { Stdout = 1, Stderr = 2 }

/// <summary>The signals a caller may send to an interactive command.</summary>
public static class ExecSignals
{
    private static readonly Dictionary<string, int> Numbers = new(StringComparer.OrdinalIgnoreCase)
    {
        ["HUP"] = 1, ["INT"] = 2, ["QUIT"] = 3, ["KILL"] = 9, ["TERM"] = 15,
    };

    public static IReadOnlyCollection<string> Names => Numbers.Keys;

    /// <summary>The signal's number, or null for a name that is not one of <see cref="Names"/> (with or without "SIG").</summary>
    public static int? Number(string name) =>
        Numbers.TryGetValue(name.StartsWith("SIG", StringComparison.OrdinalIgnoreCase) ? name[3..] : name, out var n) ? n : null;

    /// <summary>
    /// A signal for a terminal reached over a connection (ssh, telnet), which cannot signal a process: INT and QUIT are
    /// the terminal's characters (^C, ^\), HUP, TERM and KILL hang the connection up.
    /// </summary>
    public static async ValueTask SendAsTerminalAsync(string signal, Func<byte[], ValueTask> type, Action hangUp)
    {
        switch (Number(signal))
        {
            case 2:
                await type([0x03]);
                break;
            case 3:
                await type([0x1c]);
                break;
            case 1 or 9 or 15:
                hangUp();
                break;
        }
    }
}

/// <summary>
/// A command running in a node with its standard input open: the one shape of every interactive stream (exec -i/-t
/// today; a console is the same shape). One reader and one writer at a time. Every call waits for the other end
/// (backpressure): nothing is queued without bound. Disposing it ends the command if it still runs.
/// </summary>
public interface IExecSession : IAsyncDisposable
{
    /// <summary>Reads the next piece of output into <paramref name="buffer"/>; a count of 0: the output has ended.</summary>
    ValueTask<(ExecStream Stream, int Count)> ReadAsync(Memory<byte> buffer, CancellationToken ct);

    /// <summary>Writes to the command's standard input.</summary>
    ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken ct);

    /// <summary>Closes the command's standard input (end of file for it).</summary>
    ValueTask CloseStdinAsync(CancellationToken ct);

    /// <summary>Sets the terminal's size (ignored without a terminal).</summary>
    ValueTask ResizeAsync(TerminalSize size, CancellationToken ct);

    /// <summary>Sends a signal (a name of <see cref="ExecSignals"/>) to the command.</summary>
    ValueTask SignalAsync(string signal, CancellationToken ct);

    /// <summary>The command's exit code, once its output has ended.</summary>
    Task<long> ExitCodeAsync(CancellationToken ct);
}
