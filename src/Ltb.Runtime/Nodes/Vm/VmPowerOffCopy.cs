using System.Globalization;
using System.Text.Json.Nodes;
using Ltb.Runtime.Status;

namespace Ltb.Runtime.Nodes.Vm;

/// <summary>
/// The disk copy of a VM whose node type says <c>snapshot-guest: poweroff</c> (a guest that does not take a power cut
/// well): QEMU's shutdown action is set to pause (QMP <c>set-action</c>, QEMU 6.0+), so that the guest powering off
/// leaves QEMU, its taps and its network namespace in place; the ACPI power button (<c>system_powerdown</c>); the copy
/// once QEMU reports the guest shut down; then <c>system_reset</c> and <c>cont</c> boot it again in the same QEMU and the
/// snapshot waits until it is ready as after a deployment. A guest that does not power off within its type's readiness
/// budget fails the snapshot, naming the node; the VM is left as it was (running), the shutdown action restored.
/// </summary>
internal static class VmPowerOffCopy
{
    private static readonly TimeSpan QmpTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(250);

    public static async Task CopyAsync(VmNodeFiles files, VmNodeRecord record, string copy, CancellationToken ct)
    {
        await using (var qmp = await ConnectAsync(files, ct))
        {
            await SetShutdownActionAsync(qmp, "pause", ct);
            try
            {
                await qmp.ExecuteAsync("system_powerdown", null, ct);
                var budget = VmReadiness.Budget(record);
                if (!await ShutDownAsync(qmp, budget, ct))
                {
                    throw new LabRuntimeException(files.Lab, files.Node,
                        $"its guest did not power off within {budget.TotalSeconds:0} s of the ACPI power button (its node type's snapshot-guest: poweroff); " +
                        "no snapshot was taken and the VM runs on (a guest that ignores the power button needs snapshot-guest: pause)");
                }
                try
                {
                    File.Copy(files.Overlay, copy);
                }
                finally
                {
                    // Boots again whatever happened to the copy; readiness counts from this boot's console output.
                    File.Delete(files.ResumedMark);
                    await File.WriteAllTextAsync(files.BootOffset,
                        (File.Exists(files.ConsoleLog) ? new FileInfo(files.ConsoleLog).Length : 0).ToString(CultureInfo.InvariantCulture), CancellationToken.None);
                    using var boot = new CancellationTokenSource(QmpTimeout);
                    await qmp.ExecuteAsync("system_reset", null, boot.Token);
                    await qmp.ExecuteAsync("cont", null, boot.Token);
                }
            }
            finally
            {
                // Not the caller's token: a later power-off by the user (or LTB's stop) must end QEMU as before.
                using var restore = new CancellationTokenSource(QmpTimeout);
                await SetShutdownActionAsync(qmp, "poweroff", restore.Token);
            }
        }
        await VmReadiness.WaitAsync(files, record, ct);
    }

    private static async Task<QmpClient> ConnectAsync(VmNodeFiles files, CancellationToken ct)
    {
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(ct);
        bounded.CancelAfter(QmpTimeout);
        return await QmpClient.ConnectAsync(files.QmpSocket, bounded.Token);
    }

    private static async Task SetShutdownActionAsync(QmpClient qmp, string action, CancellationToken ct) =>
        await qmp.ExecuteAsync("set-action", new JsonObject { ["shutdown"] = action }, ct);

    /// <summary>Whether QEMU reports the guest shut down (status <c>shutdown</c>) within <paramref name="budget"/>.</summary>
    private static async Task<bool> ShutDownAsync(QmpClient qmp, TimeSpan budget, CancellationToken ct)
    {
        var until = DateTime.UtcNow + budget;
        while (DateTime.UtcNow < until)
        {
            if ((await qmp.ExecuteAsync("query-status", null, ct))?["status"]?.GetValue<string>() == "shutdown")
            {
                return true;
            }
            await Task.Delay(Poll, ct);
        }
        return false;
    }
}
