using Docker.DotNet.Models;

namespace Ltb.Runtime.Docker;

/// <summary>The outcome of a command run inside a container.</summary>
public sealed record ExecResult(long ExitCode, string Stdout, string Stderr)
{
    public bool Succeeded => ExitCode == 0;
}

public static class ContainerExec
{
    /// <summary>
    /// Runs <paramref name="command"/> (an argument vector, never a shell string) in a running container and waits for it.
    /// </summary>
    public static async Task<ExecResult> ExecAsync(this DockerEngine engine, string container, IReadOnlyList<string> command,
        TimeSpan timeout, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout);
        var created = await engine.Client.Exec.CreateContainerExecAsync(container, new ContainerExecCreateParameters
        {
            Cmd = command.ToList(),
            AttachStdout = true,
            AttachStderr = true,
        }, cts.Token);
        using var stream = await engine.Client.Exec.StartContainerExecAsync(created.ID, new ContainerExecStartParameters(), cts.Token);
        var (stdout, stderr) = await stream.ReadOutputToEndAsync(cts.Token);
        var inspect = await engine.Client.Exec.InspectContainerExecAsync(created.ID, cts.Token);
        return new ExecResult(inspect.ExitCode ?? -1, stdout, stderr);
    }
}
