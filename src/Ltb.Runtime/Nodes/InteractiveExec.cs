using System.Runtime.InteropServices;
using Docker.DotNet;
using Docker.DotNet.Models;
using Ltb.Runtime.Docker;

namespace Ltb.Runtime.Nodes;

/// <summary>
/// An interactive command in a container (Docker exec with stdin attached, optionally a TTY) as an
/// <see cref="IExecSession"/>: the engine's hijacked connection carries stdin one way and the output the other, resize
/// is the engine's exec resize. The engine has no "signal an exec" call: a signal goes to the exec's process on this
/// machine (its pid is a host pid) once it is seen in the container's cgroup; with a TTY, ^C in stdin is the terminal's
/// own way and needs no pid.
/// </summary>
public sealed partial class InteractiveExec : IExecSession
{
    private readonly DockerEngine _engine;
    private readonly string _execId;
    private readonly MultiplexedStream _stream;
    private readonly bool _tty;
    private byte[] _scratch = [];
    private int _disposed;

    private InteractiveExec(DockerEngine engine, string execId, MultiplexedStream stream, bool tty)
    {
        _engine = engine;
        _execId = execId;
        _stream = stream;
        _tty = tty;
    }

    /// <summary>Starts <paramref name="command"/> in the running container; its size is set before it reads anything.</summary>
    public static async Task<InteractiveExec> StartAsync(DockerEngine engine, string container, IReadOnlyList<string> command, bool tty,
        TerminalSize? size, CancellationToken ct)
    {
        var created = await engine.Client.Exec.CreateContainerExecAsync(container, new ContainerExecCreateParameters
        {
            Cmd = command.ToList(),
            AttachStdin = true,
            AttachStdout = true,
            AttachStderr = true,
            TTY = tty,
        }, ct);
        var stream = await engine.Client.Exec.StartContainerExecAsync(created.ID, new ContainerExecStartParameters { TTY = tty }, ct);
        var session = new InteractiveExec(engine, created.ID, stream, tty);
        // Older engines (20.10) take no size at creation: it is set at once, as the docker CLI does, and again while the
        // engine has not started the process yet (it refuses to resize it until then).
        for (var attempt = 0; tty && size is { IsValid: true } initial && !await session.TryResizeAsync(initial, ct) && attempt < 20; attempt++)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(25), ct);
        }
        return session;
    }

    public async ValueTask<(ExecStream Stream, int Count)> ReadAsync(Memory<byte> buffer, CancellationToken ct)
    {
        if (MemoryMarshal.TryGetArray<byte>(buffer, out var segment) && segment.Array is { } array)
        {
            var read = await _stream.ReadOutputAsync(array, segment.Offset, segment.Count, ct);
            return (Target(read.Target), read.Count);
        }
        if (_scratch.Length < buffer.Length)
        {
            _scratch = new byte[buffer.Length];
        }
        var r = await _stream.ReadOutputAsync(_scratch, 0, buffer.Length, ct);
        _scratch.AsMemory(0, r.Count).CopyTo(buffer);
        return (Target(r.Target), r.Count);
    }

    private static ExecStream Target(MultiplexedStream.TargetStream t) =>
        t == MultiplexedStream.TargetStream.StandardError ? ExecStream.Stderr : ExecStream.Stdout;

    public async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        var array = MemoryMarshal.TryGetArray(data, out var segment) && segment.Array is { } a ? (a, segment.Offset, segment.Count) : (data.ToArray(), 0, data.Length);
        await _stream.WriteAsync(array.Item1, array.Item2, array.Item3, ct);
    }

    public ValueTask CloseStdinAsync(CancellationToken ct)
    {
        _stream.CloseWrite();
        return ValueTask.CompletedTask;
    }

    public async ValueTask ResizeAsync(TerminalSize size, CancellationToken ct)
    {
        if (_tty && size.IsValid)
        {
            // Refused when the command ended meanwhile: nothing to resize.
            await TryResizeAsync(size, ct);
        }
    }

    private async Task<bool> TryResizeAsync(TerminalSize size, CancellationToken ct)
    {
        try
        {
            await _engine.Client.Exec.ResizeExecTtyAsync(_execId, new ContainerResizeParameters { Height = size.Rows, Width = size.Columns }, ct);
            return true;
        }
        catch (DockerApiException)
        {
            return false;
        }
    }

    public async ValueTask SignalAsync(string signal, CancellationToken ct)
    {
        var number = ExecSignals.Number(signal) ?? throw new ArgumentException($"'{signal}' is not a signal LTB sends ({string.Join(", ", ExecSignals.Names)})", nameof(signal));
        var inspect = await _engine.Client.Exec.InspectContainerExecAsync(_execId, ct);
        // The pid is the engine's: in another pid namespace (an agent in a container, an engine elsewhere) it names some
        // other process here, or one that took the number since. Only a process in the container's own cgroup is
        // signalled; otherwise the signal is left undelivered (^C through a TTY still works).
        if (inspect.Running && inspect.Pid > 0 && InContainer(inspect.Pid, inspect.ContainerID))
        {
            _ = kill((int)inspect.Pid, number);
        }
    }

    private static bool InContainer(long pid, string? containerId)
    {
        try
        {
            return containerId is { Length: 64 } && File.ReadAllText($"/proc/{pid}/cgroup").Contains(containerId, StringComparison.Ordinal);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false; // ended meanwhile, or not a process of this machine
        }
    }

    public async Task<long> ExitCodeAsync(CancellationToken ct)
    {
        // The output ends when the process closes it; the engine records the exit a moment later.
        for (var attempt = 0; ; attempt++)
        {
            var inspect = await _engine.Client.Exec.InspectContainerExecAsync(_execId, ct);
            if (!inspect.Running || attempt >= 100)
            {
                return inspect.ExitCode ?? -1;
            }
            await Task.Delay(TimeSpan.FromMilliseconds(50), ct);
        }
    }

    /// <summary>Closes the connection and kills the command (with its children) if it still runs: a dropped client leaves nothing.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        _stream.Dispose();
        try
        {
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            var inspect = await _engine.Client.Exec.InspectContainerExecAsync(_execId, limit.Token);
            if (inspect.Running && inspect.Pid > 0)
            {
                using var process = System.Diagnostics.Process.GetProcessById((int)inspect.Pid);
                process.Kill(entireProcessTree: true);
            }
        }
        catch (Exception e) when (e is DockerApiException or OperationCanceledException or HttpRequestException or ArgumentException
            or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // The container or the process is gone already, or the engine is on another machine.
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int signal);
}
