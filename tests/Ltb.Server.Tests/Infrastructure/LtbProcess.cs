using System.Diagnostics;
using System.Globalization;
using Ltb.Server.Tests.Cli;
using Ltb.Testing;

namespace Ltb.Server.Tests.Infrastructure;

/// <summary>
/// A long-running `./ltb` (serve or agent) whose output is kept: a test waits for a line, reads everything it printed,
/// stops it (SIGTERM) or kills it (SIGKILL, the crash case). `./ltb` execs the program, so the process is the program.
/// </summary>
public sealed class LtbProcess : IAsyncDisposable
{
    private readonly List<string> _lines = [];
    private readonly string _what;

    private LtbProcess(Process process, string what)
    {
        Process = process;
        _what = what;
        process.OutputDataReceived += (_, e) => Add(e.Data);
        process.ErrorDataReceived += (_, e) => Add(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public Process Process { get; }

    public bool HasExited => Process.HasExited;

    /// <summary>Everything printed so far (stdout and stderr interleaved as they came).</summary>
    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_lines)
            {
                return [.. _lines];
            }
        }
    }

    public string Output => string.Join('\n', Lines);

    /// <summary>
    /// Starts `./ltb ARGS` in this namespace with <paramref name="env"/> (see <see cref="ServeProcess.HomeEnvironment"/>)
    /// and without the variables named in <paramref name="unset"/>.
    /// </summary>
    public static LtbProcess Start(IEnumerable<string> args, IReadOnlyDictionary<string, string> env, string what, IEnumerable<string>? unset = null) =>
        StartProgram(Path.Combine(Repo.Root, "ltb"), args, env, what, unset);

    /// <summary>Starts another `ltb` program than the checkout's (a published or installed one) the same way.</summary>
    public static LtbProcess StartProgram(string program, IEnumerable<string> args, IReadOnlyDictionary<string, string> env, string what,
        IEnumerable<string>? unset = null)
    {
        var psi = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = Repo.Root,
        };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        // `ltb serve` would start its SSH gateway on port 2222 (as root, with sshd): servers side by side would fight for
        // it. A test that wants one says LTB_SSH_PORT itself.
        psi.Environment["LTB_SSH_PORT"] = "off";
        foreach (var (k, v) in env)
        {
            psi.Environment[k] = v;
        }
        foreach (var k in unset ?? [])
        {
            psi.Environment.Remove(k);
        }
        return new LtbProcess(Process.Start(psi) ?? throw new InvalidOperationException($"could not start {what}"), what);
    }

    /// <summary>Starts `./ltb ARGS` inside a simulated host's namespace (the host stops it when disposed).</summary>
    public static LtbProcess StartInside(SimulatedHost host, IEnumerable<string> args, IReadOnlyDictionary<string, string> env, string what) =>
        new(host.StartInside(Path.Combine(Repo.Root, "ltb"), args, env), what);

    /// <summary>Waits until a line printed after <paramref name="after"/> lines matches; fails with the output if the process ends first.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match, TimeSpan timeout, int after = 0)
    {
        var until = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < until)
        {
            if (Lines.Skip(after).FirstOrDefault(match) is { } line)
            {
                return line;
            }
            if (Process.HasExited)
            {
                // The last lines may still be on their way from the pipes: WaitForExitAsync also waits for their end.
                using (var drained = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
                {
                    try
                    {
                        await Process.WaitForExitAsync(drained.Token);
                    }
                    catch (OperationCanceledException)
                    {
                    }
                }
                if (Lines.Skip(after).FirstOrDefault(match) is { } last)
                {
                    return last;
                }
                throw new InvalidOperationException($"{_what} exited ({Process.ExitCode}) before it was ready:\n{Output}");
            }
            await Task.Delay(100);
        }
        throw new TimeoutException($"{_what} was not ready within {timeout}:\n{Output}");
    }

    /// <summary>SIGKILL: the process dies at once, as in a crash or a power cut; nothing of it runs any clean-up.</summary>
    public async Task KillAsync()
    {
        if (!Process.HasExited)
        {
            await HostCommand.RunAsync("kill", "-KILL", Process.Id.ToString(CultureInfo.InvariantCulture));
            await Process.WaitForExitAsync();
        }
    }

    /// <summary>SIGTERM, then SIGKILL if it has not ended within <paramref name="grace"/>.</summary>
    public async Task StopAsync(TimeSpan? grace = null)
    {
        if (Process.HasExited)
        {
            return;
        }
        await HostCommand.RunAsync("kill", "-TERM", Process.Id.ToString(CultureInfo.InvariantCulture));
        using var wait = new CancellationTokenSource(grace ?? TimeSpan.FromSeconds(30));
        try
        {
            await Process.WaitForExitAsync(wait.Token);
        }
        catch (OperationCanceledException)
        {
            await KillAsync();
        }
    }

    private void Add(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_lines)
        {
            _lines.Add(line);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.FromSeconds(15));
        Process.Dispose();
    }
}
