using System.Net.Sockets;
using System.Text.Json.Nodes;
using Ltb.Runtime.Files;
using Ltb.Runtime.Status;

namespace Ltb.Runtime.Nodes.Vm;

/// <summary>
/// A VM's RAM state (issue #15, a snapshot "with memory"): QEMU's migration stream (its devices and RAM), written to and
/// read from a file through a unix socket in the node's socket folder (root only, 0700): QEMU 7.2 has no <c>file:</c>
/// migration URI, and a socket the agent serves needs no shell (an <c>exec:</c> URI would) and lets the agent bound what
/// it writes. Saving runs while the guest is paused (the caller's QMP <c>stop</c>, the same pause as its disk copy), so
/// disk and RAM are of one instant; QEMU ends the save in <c>postmigrate</c>, from which the caller's <c>cont</c> runs
/// the guest again. Loading is into a QEMU started with <c>-incoming defer</c> and the same command line
/// (<see cref="QemuCommandLine.WithIncoming"/>), before the guest runs.
/// </summary>
internal static class VmRamState
{
    /// <summary>What a state may take beyond the guest's RAM (device state, the stream's framing).</summary>
    public const long MarginBytes = 64L << 20;
    /// <summary>The migration's bandwidth cap while saving or loading (QEMU's default, 32 MiB/s, would make a local copy slow).</summary>
    private const long MaxBandwidth = 4L << 30;
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(100);

    /// <summary>The most bytes the RAM state of a guest with <paramref name="memoryBytes"/> of RAM may take (its RAM, an eighth more, at least <see cref="MarginBytes"/> more).</summary>
    public static long Limit(long memoryBytes) => memoryBytes + Math.Max(MarginBytes, memoryBytes / 8);

    /// <summary>The problem with a RAM state of <paramref name="size"/> bytes for a guest of <paramref name="memoryBytes"/>, or null when it fits.</summary>
    public static string? SizeProblem(long size, long memoryBytes) => size <= Limit(memoryBytes) ? null
        : $"its RAM state is larger than the {Limit(memoryBytes) >> 20} MiB a guest with {memoryBytes >> 20} MiB of RAM may take";

    /// <summary>
    /// Writes the paused guest's state to <paramref name="path"/> (a new file, 0600), at most <paramref name="limit"/> bytes;
    /// waits until QEMU says the migration completed. A failure names the node; QEMU's migration is cancelled.
    /// </summary>
    public static async Task SaveAsync(QmpClient qmp, VmNodeFiles files, string path, long limit, TimeSpan timeout, CancellationToken ct)
    {
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(ct);
        bounded.CancelAfter(timeout);
        File.Delete(files.MigrationSocket);
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            listener.Bind(new UnixDomainSocketEndPoint(files.MigrationSocket));
            listener.Listen(1);
            await qmp.ExecuteAsync("migrate-set-parameters", new JsonObject { ["max-bandwidth"] = MaxBandwidth }, bounded.Token);
            var accepted = listener.AcceptAsync(bounded.Token).AsTask();
            await qmp.ExecuteAsync("migrate", new JsonObject { ["uri"] = $"unix:{files.MigrationSocket}" }, bounded.Token);
            using var connection = await accepted.WaitAsync(ConnectTimeout, bounded.Token);
            await using (var input = new NetworkStream(connection, ownsSocket: false))
            await using (var output = CreatePrivate(path, FileMode.CreateNew))
            {
                await CopyBoundedAsync(input, output, limit, files, bounded.Token);
            }
            await CompletedAsync(qmp, files, "saved", bounded.Token);
        }
        catch (Exception e)
        {
            await CancelAsync(qmp);
            if (Own(e, ct))
            {
                throw;
            }
            throw Failed(files, "saved", e);
        }
        finally
        {
            File.Delete(files.MigrationSocket);
        }
    }

    /// <summary>Streams <paramref name="path"/> into QEMU (started with <c>-incoming defer</c>, not running yet) and waits until it has loaded it.</summary>
    public static async Task LoadAsync(QmpClient qmp, VmNodeFiles files, string path, TimeSpan timeout, CancellationToken ct)
    {
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(ct);
        bounded.CancelAfter(timeout);
        File.Delete(files.MigrationSocket);
        try
        {
            await qmp.ExecuteAsync("migrate-set-parameters", new JsonObject { ["max-bandwidth"] = MaxBandwidth }, bounded.Token);
            // QEMU listens on the socket once this returns.
            await qmp.ExecuteAsync("migrate-incoming", new JsonObject { ["uri"] = $"unix:{files.MigrationSocket}" }, bounded.Token);
            using (var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
            {
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(files.MigrationSocket), bounded.Token);
                await using var output = new NetworkStream(socket, ownsSocket: false);
                await using var input = new FileStream(path, FileMode.Open, FileAccess.Read);
                await input.CopyToAsync(output, bounded.Token);
                socket.Shutdown(SocketShutdown.Send);
                await CompletedAsync(qmp, files, "loaded", bounded.Token);
            }
        }
        catch (Exception e) when (!Own(e, ct))
        {
            throw Failed(files, "loaded", e);
        }
        finally
        {
            File.Delete(files.MigrationSocket);
        }
    }

    /// <summary>A new file for a RAM state, readable by root only (0600): it is the guest's memory, secrets and all.</summary>
    public static FileStream CreatePrivate(string path, FileMode mode)
    {
        var options = new FileStreamOptions { Mode = mode, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        return new FileStream(path, options);
    }

    /// <summary>Copies until the end of <paramref name="input"/>; more than <paramref name="limit"/> bytes is refused.</summary>
    public static Task<long> CopyBoundedAsync(Stream input, Stream output, long limit, VmNodeFiles files, CancellationToken ct) =>
        BoundedCopy.CopyAsync(input, output, limit, () => new LabRuntimeException(files.Lab, files.Node,
            $"its RAM state is larger than the {limit >> 20} MiB it may take (the guest's RAM and a margin, or what is left of the snapshot quota)"), ct);

    /// <summary>Polls <c>query-migrate</c> until <c>completed</c>; <c>failed</c> or <c>cancelled</c> is an error with QEMU's reason.</summary>
    private static async Task CompletedAsync(QmpClient qmp, VmNodeFiles files, string verb, CancellationToken ct)
    {
        while (true)
        {
            var info = await qmp.ExecuteAsync("query-migrate", null, ct);
            switch (info?["status"]?.GetValue<string>())
            {
                case "completed":
                    return;
                case "failed" or "cancelled" or "cancelling":
                    throw new LabRuntimeException(files.Lab, files.Node,
                        $"its RAM state could not be {verb}: QEMU's migration {info["status"]} ({info["error-desc"]?.GetValue<string>() ?? "no reason given"})");
            }
            await Task.Delay(Poll, ct);
        }
    }

    /// <summary>Ends a save that is still running (the guest stays paused; the caller's <c>cont</c> runs it again).</summary>
    private static async Task CancelAsync(QmpClient qmp)
    {
        try
        {
            using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await qmp.ExecuteAsync("migrate_cancel", null, cancel.Token);
        }
        catch (Exception e) when (e is QmpException or IOException or SocketException or OperationCanceledException)
        {
            // QEMU went away or refused: the caller's cont (or kill) settles it.
        }
    }

    /// <summary>A failure that already says what it is: the node's own, or the caller's cancellation.</summary>
    private static bool Own(Exception e, CancellationToken ct) => e is LabRuntimeException || e is OperationCanceledException && ct.IsCancellationRequested;

    private static LabRuntimeException Failed(VmNodeFiles files, string verb, Exception e) =>
        new(files.Lab, files.Node, e is OperationCanceledException
            ? $"its RAM state could not be {verb} in time (QEMU did not finish the migration)"
            : $"its RAM state could not be {verb}: {e.Message}", e);
}
