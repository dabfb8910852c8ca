using System.Runtime.InteropServices;

namespace Ltb.Cli.Commands;

/// <summary>
/// Says on stderr which signal stopped a long-running command (`ltb serve`, `ltb agent`). Without it, a SIGTERM that
/// arrives before the program is ready ends it with exit code 1 and no word, which an operator (or a test) cannot tell
/// from a crash. The default handling (cancel, then stop) goes on unchanged.
/// </summary>
internal sealed class StopSignals : IDisposable
{
    private readonly PosixSignalRegistration[] _registrations;

    private StopSignals(string program) =>
        _registrations = [.. new[] { PosixSignal.SIGTERM, PosixSignal.SIGINT, PosixSignal.SIGQUIT }.Select(signal =>
            PosixSignalRegistration.Create(signal, _ => Console.Error.WriteLine($"{program}: {Name(signal)} received: stopping")))];

    public static StopSignals Announce(string program) => new(program);

    private static string Name(PosixSignal signal) => signal switch
    {
        PosixSignal.SIGTERM => "SIGTERM",
        PosixSignal.SIGINT => "SIGINT",
        _ => "SIGQUIT",
    };

    public void Dispose()
    {
        foreach (var r in _registrations)
        {
            r.Dispose();
        }
    }
}
