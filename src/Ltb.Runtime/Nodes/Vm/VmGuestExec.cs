using System.Text;
using Ltb.Runtime.Docker;
using Ltb.Runtime.Status;
using Ltb.Runtime.Network;
using Ltb.Topology.Catalog;
using Renci.SshNet;
using Renci.SshNet.Common;

namespace Ltb.Runtime.Nodes.Vm;

/// <summary>
/// Exec in a VM node whose type says how (<see cref="GuestExec"/>, node type key <c>exec</c>): over SSH (SSH.NET) to its
/// management address, as the type's user, with a key pair LTB makes for the node at create (<c>ssh-keygen</c>, in the
/// node's folder, root-only) and gives the guest in its cloud-init seed. The guest's host key is pinned on first use
/// (its SHA-256 fingerprint in the node's folder): a different key later is refused. The command is an argument vector;
/// SSH carries one command line, so each word is quoted for the guest's POSIX shell. Output is bounded as a container's
/// (<see cref="ContainerExec.HardLimitBytes"/>).
/// </summary>
internal static class VmGuestExec
{
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(15);

    /// <summary>Makes the node's exec key pair (replacing any); returns the public key line for the guest's authorized keys.</summary>
    public static async Task<string> MakeKeyAsync(IHostNetwork host, VmNodeFiles files, CancellationToken ct)
    {
        File.Delete(files.ExecKey);
        File.Delete(files.ExecKey + ".pub");
        File.Delete(files.HostKeyPin);
        ProcessResult made;
        try
        {
            made = await host.RunAsync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", $"ltb-exec-{files.Lab}-{files.Node}", "-f", files.ExecKey],
                null, TimeSpan.FromSeconds(30), ct);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            made = new ProcessResult(127, "", e.Message);
        }
        if (!made.Succeeded)
        {
            throw new LabRuntimeException(files.Lab, files.Node, $"its exec key could not be made (ssh-keygen: {made.Stderr.Trim()}); " +
                "this host needs openssh-client (apt-get install openssh-client, or scripts/prepare-host.sh)");
        }
        return (await File.ReadAllTextAsync(files.ExecKey + ".pub", ct)).Trim();
    }

    /// <summary>A word for a POSIX shell: single-quoted, an embedded quote closed, escaped and reopened.</summary>
    public static string Quote(string word) => "'" + word.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    public static async Task<ExecResult> RunAsync(VmNodeFiles files, VmNodeRecord r, IReadOnlyList<string> command, TimeSpan timeout, long limitBytes,
        CancellationToken ct)
    {
        if (r.Exec is not { } exec || !File.Exists(files.ExecKey))
        {
            throw new NodeExecException(r.Lab, r.Node, "its node type runs no commands from LTB (no 'exec' in the node type); open its serial console " +
                "(ltb console) or SSH to its management address", timedOut: false);
        }
        if (r.MgmtIpv4 is not { } address)
        {
            throw new NodeExecException(r.Lab, r.Node, "it has no management IPv4 address to reach over SSH (a lab without a management network)", timedOut: false);
        }
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout);
        try
        {
            using var key = new PrivateKeyFile(files.ExecKey);
            var connection = new ConnectionInfo(address, exec.Port, exec.User, new PrivateKeyAuthenticationMethod(exec.User, key))
            {
                Timeout = ConnectTimeout,
            };
            using var client = new SshClient(connection);
            client.HostKeyReceived += (_, e) => e.CanTrust = PinHostKey(files, e.FingerPrintSHA256);
            await client.ConnectAsync(cts.Token);
            using var cmd = client.CreateCommand(string.Join(' ', command.Select(Quote)));
            return await ReadAsync(cmd, (int)Math.Clamp(limitBytes, 0, ContainerExec.HardLimitBytes), cts.Token);
        }
        catch (OperationCanceledException e) when (!ct.IsCancellationRequested)
        {
            throw new NodeExecException(r.Lab, r.Node, $"the command did not finish within {timeout.TotalSeconds:0} s", timedOut: true, e);
        }
        catch (Exception e) when (e is SshException or System.Net.Sockets.SocketException or IOException)
        {
            throw new NodeExecException(r.Lab, r.Node, $"the command cannot run over SSH to {address}:{exec.Port} as {exec.User}: {e.Message}", timedOut: false, e);
        }
    }

    /// <summary>Trusts the first host key the guest shows and only that one afterwards.</summary>
    private static bool PinHostKey(VmNodeFiles files, string fingerprint)
    {
        if (File.Exists(files.HostKeyPin))
        {
            return File.ReadAllText(files.HostKeyPin).Trim() == fingerprint;
        }
        File.WriteAllText(files.HostKeyPin, fingerprint);
        return true;
    }

    /// <summary>Runs the command, reading its output as it comes, at most <paramref name="limit"/> bytes; past that it is cancelled.</summary>
    private static async Task<ExecResult> ReadAsync(SshCommand cmd, int limit, CancellationToken ct)
    {
        var stdout = new MemoryStream();
        var stderr = new MemoryStream();
        var gate = new object();
        var cut = false;
        using var cutSource = CancellationTokenSource.CreateLinkedTokenSource(ct);
        async Task Pump(Stream from, MemoryStream to)
        {
            var buffer = new byte[16 * 1024];
            int n;
            while ((n = await from.ReadAsync(buffer, cutSource.Token)) > 0)
            {
                lock (gate)
                {
                    var room = limit - (int)(stdout.Length + stderr.Length);
                    to.Write(buffer, 0, Math.Min(n, room));
                    if (n > room)
                    {
                        cut = true;
                        cutSource.Cancel();
                        return;
                    }
                }
            }
        }
        var run = cmd.ExecuteAsync(cutSource.Token);
        var pumps = Task.WhenAll(Pump(cmd.OutputStream, stdout), Pump(cmd.ExtendedOutputStream, stderr));
        try
        {
            await run;
            await pumps;
        }
        catch (OperationCanceledException) when (cut)
        {
            return new ExecResult(ContainerExec.CutExitCode, Decode(stdout), Decode(stderr), Truncated: true);
        }
        return new ExecResult(cmd.ExitStatus ?? (cmd.ExitSignal is null ? -1 : 128 + 15), Decode(stdout), Decode(stderr));
    }

    private static string Decode(MemoryStream bytes) => Encoding.UTF8.GetString(bytes.GetBuffer(), 0, (int)bytes.Length);
}
