using System.Diagnostics;
using System.Text;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace Ltb.Runtime.Docker;

/// <summary>
/// The outcome of a command run inside a container. <paramref name="Truncated"/>: its output reached the limit, the rest
/// was not read and the command was killed (<see cref="ContainerExec.CutExitCode"/>).
/// </summary>
public sealed record ExecResult(long ExitCode, string Stdout, string Stderr, bool Truncated = false)
{
    public bool Succeeded => ExitCode == 0;
}

public static class ContainerExec
{
    /// <summary>
    /// The most output (stdout and stderr together) one exec returns on any host, whatever a caller asks: the agent
    /// holds at most this much of a command's output in memory (`exec yes` cannot grow it without bound).
    /// </summary>
    public const long HardLimitBytes = 8L << 20;

    /// <summary>The exit code reported for a command cut at the limit: it was killed (128 + SIGKILL, as a shell says).</summary>
    public const long CutExitCode = 137;

    /// <summary>Runs a command with the hard output limit (LTB's own commands: startup exec, tests).</summary>
    public static Task<ExecResult> ExecAsync(this DockerEngine engine, string container, IReadOnlyList<string> command,
        TimeSpan timeout, CancellationToken ct) => engine.ExecAsync(container, command, timeout, HardLimitBytes, ct);

    /// <summary>
    /// Runs <paramref name="command"/> (an argument vector, never a shell string) in a running container and waits for it.
    /// Its output is read as it comes, at most <paramref name="limitBytes"/> (stdout and stderr together, clamped to
    /// <see cref="HardLimitBytes"/>); past that the stream is closed and the command killed.
    /// </summary>
    public static async Task<ExecResult> ExecAsync(this DockerEngine engine, string container, IReadOnlyList<string> command,
        TimeSpan timeout, long limitBytes, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout);
        var created = await engine.Client.Exec.CreateContainerExecAsync(container, new ContainerExecCreateParameters
        {
            Cmd = command.ToList(),
            AttachStdout = true,
            AttachStderr = true,
        }, cts.Token);
        var limit = (int)Math.Clamp(limitBytes, 0, HardLimitBytes);
        var stdout = new MemoryStream();
        var stderr = new MemoryStream();
        bool cut;
        using (var stream = await engine.Client.Exec.StartContainerExecAsync(created.ID, new ContainerExecStartParameters(), cts.Token))
        {
            cut = await ReadCappedAsync(stream, stdout, stderr, limit, cts.Token);
        }
        if (cut)
        {
            await KillAsync(engine, created.ID, cts.Token);
            return new ExecResult(CutExitCode, Decode(stdout), Decode(stderr), Truncated: true);
        }
        var inspect = await engine.Client.Exec.InspectContainerExecAsync(created.ID, cts.Token);
        return new ExecResult(inspect.ExitCode ?? -1, Decode(stdout), Decode(stderr));
    }

    /// <summary>Reads the multiplexed output into the two buffers until its end (false) or until they hold the limit (true).</summary>
    private static async Task<bool> ReadCappedAsync(MultiplexedStream stream, MemoryStream stdout, MemoryStream stderr, int limit,
        CancellationToken ct)
    {
        var buffer = new byte[64 * 1024];
        while (true)
        {
            var room = limit - (int)(stdout.Length + stderr.Length);
            // One byte more than there is room for tells "more than the limit" from "exactly the limit".
            var read = await stream.ReadOutputAsync(buffer, 0, Math.Min(buffer.Length, room + 1), ct);
            if (read.EOF)
            {
                return false;
            }
            var target = read.Target == MultiplexedStream.TargetStream.StandardError ? stderr : stdout;
            target.Write(buffer, 0, Math.Min(read.Count, room));
            if (read.Count > room)
            {
                return true;
            }
        }
    }

    /// <summary>
    /// Kills a command whose output was cut. Closing its stream alone leaves it running until it writes again (and a
    /// command that writes nothing more, forever): its process on the host is killed with its children. The exec's pid
    /// is a host pid; an engine on another machine (no such process here) keeps the closed stream as the only stop.
    /// </summary>
    private static async Task KillAsync(DockerEngine engine, string execId, CancellationToken ct)
    {
        var inspect = await engine.Client.Exec.InspectContainerExecAsync(execId, ct);
        if (!inspect.Running || inspect.Pid <= 0)
        {
            return;
        }
        try
        {
            using var process = Process.GetProcessById((int)inspect.Pid);
            process.Kill(entireProcessTree: true);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // Gone already (it ended on the closed stream), or not a process of this machine.
        }
    }

    /// <summary>UTF-8 text; a character cut at the limit becomes U+FFFD.</summary>
    private static string Decode(MemoryStream bytes) => Encoding.UTF8.GetString(bytes.GetBuffer(), 0, (int)bytes.Length);
}
