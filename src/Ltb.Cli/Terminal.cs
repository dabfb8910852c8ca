using System.Runtime.InteropServices;

namespace Ltb.Cli;

/// <summary>
/// The controlling terminal for `ltb lab exec -t`: raw mode (every key, ^C included, goes to the remote TTY, which
/// echoes and interprets it) and the window size. Straight termios calls rather than `stty`, so that nothing else runs
/// and the settings saved are exactly the ones restored.
/// </summary>
internal sealed partial class Terminal : IDisposable
{
    private const int StdinFd = 0;
    private const int StdoutFd = 1;
    private const int TcsaNow = 0;
    private const ulong TiocGwinsz = 0x5413;
    // Larger than struct termios on every Linux libc: the bytes are only passed back to the same libc.
    private readonly byte[] _saved = new byte[256];
    private bool _raw;

    /// <summary>Whether standard input is a terminal (`-t` needs one).</summary>
    public static bool IsTerminal => isatty(StdinFd) == 1;

    /// <summary>The terminal's size (of stdout, else stdin); null when neither is a terminal.</summary>
    public static (int Rows, int Columns)? Size()
    {
        foreach (var fd in new[] { StdoutFd, StdinFd })
        {
            var size = new ushort[4];
            if (ioctl(fd, TiocGwinsz, size) == 0 && size[0] > 0 && size[1] > 0)
            {
                return (size[0], size[1]);
            }
        }
        return null;
    }

    /// <summary>Puts the terminal in raw mode until disposed.</summary>
    public static Terminal Raw()
    {
        var t = new Terminal();
        if (tcgetattr(StdinFd, t._saved) != 0)
        {
            throw new InvalidOperationException($"standard input is not a terminal (errno {Marshal.GetLastPInvokeError()})");
        }
        var raw = (byte[])t._saved.Clone();
        cfmakeraw(raw);
        if (tcsetattr(StdinFd, TcsaNow, raw) != 0)
        {
            throw new InvalidOperationException($"the terminal cannot be put in raw mode (errno {Marshal.GetLastPInvokeError()})");
        }
        t._raw = true;
        return t;
    }

    /// <summary>Restores the settings the terminal had before.</summary>
    public void Dispose()
    {
        if (_raw)
        {
            _raw = false;
            _ = tcsetattr(StdinFd, TcsaNow, _saved);
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int isatty(int fd);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int tcgetattr(int fd, [Out] byte[] termios);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int tcsetattr(int fd, int action, byte[] termios);

    [LibraryImport("libc")]
    private static partial void cfmakeraw([In, Out] byte[] termios);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int ioctl(int fd, ulong request, [Out] ushort[] size);
}
