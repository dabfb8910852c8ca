using System.Diagnostics;

namespace Ltb.Runtime.Nodes.Vm;

/// <summary>
/// Whether KVM really runs guests on this host, found by running one: a 512-byte boot sector that writes 'K' to the
/// serial port, under <c>-accel kvm -cpu host</c>. /dev/kvm may exist and still refuse guests (nested virtualization
/// without some MSRs: "failed to set MSR 0x10a"); the file's presence proves nothing. Probed once per process.
/// </summary>
public static class KvmProbe
{
    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static (VmAccelerator Accelerator, string Reason)? _result;

    /// <summary>KVM with an empty reason, or TCG with the reason KVM is not used.</summary>
    public static async Task<(VmAccelerator Accelerator, string Reason)> ProbeAsync(string scratchFolder, CancellationToken ct)
    {
        await Gate.WaitAsync(ct);
        try
        {
            return _result ??= await RunAsync(scratchFolder, ct);
        }
        finally
        {
            Gate.Release();
        }
    }

    private static async Task<(VmAccelerator, string)> RunAsync(string scratchFolder, CancellationToken ct)
    {
        if (!File.Exists("/dev/kvm"))
        {
            return (VmAccelerator.Tcg, "this host has no /dev/kvm");
        }
        Directory.CreateDirectory(scratchFolder);
        var image = Path.Combine(scratchFolder, "kvm-probe.img");
        // mov dx,0x3f8; mov al,'K'; out dx,al; hlt; jmp $-1 ... boot signature.
        byte[] code = [0xBA, 0xF8, 0x03, 0xB0, 0x4B, 0xEE, 0xF4, 0xEB, 0xFD];
        var sector = new byte[512];
        code.CopyTo(sector, 0);
        sector[510] = 0x55;
        sector[511] = 0xAA;
        await File.WriteAllBytesAsync(image, sector, ct);
        var start = new ProcessStartInfo(QemuCommandLine.Binary)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false,
        };
        foreach (var a in new[] { "-accel", "kvm", "-cpu", "host", "-nodefaults", "-no-user-config", "-display", "none", "-m", "16M",
                     "-drive", $"file={QemuCommandLine.Opt(image)},format=raw,if=ide", "-serial", "stdio" })
        {
            start.ArgumentList.Add(a);
        }
        using var qemu = Process.Start(start)!;
        var stderr = qemu.StandardError.ReadToEndAsync(CancellationToken.None);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(TimeSpan.FromSeconds(15));
        var buffer = new char[64];
        var said = false;
        try
        {
            while (!said && await qemu.StandardOutput.ReadAsync(buffer, limit.Token) is var n and > 0)
            {
                said = buffer.AsSpan(0, n).Contains('K');
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            // No word from the guest in time: KVM hangs here.
        }
        finally
        {
            qemu.Kill(entireProcessTree: true);
            await qemu.WaitForExitAsync(CancellationToken.None);
            File.Delete(image);
        }
        if (said)
        {
            return (VmAccelerator.Kvm, "");
        }
        var error = (await stderr).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .FirstOrDefault(l => l.Contains("error", StringComparison.OrdinalIgnoreCase)) ?? "a test guest did not run";
        return (VmAccelerator.Tcg, $"/dev/kvm exists but cannot run guests ({error})");
    }
}
