using System.Globalization;
using Ltb.Runtime.Labs;
using Ltb.Runtime.Links.Types;
using Ltb.Runtime.Network;
using Ltb.Runtime.Plan;
using Ltb.Runtime.Status;

namespace Ltb.Runtime.Nodes.Vm;

/// <summary>
/// VM node lifecycle for <see cref="VmDriver"/>: create (the node's files, its disk overlay, fresh or a snapshot's, QEMU's command line),
/// start (QEMU in a new network namespace, confined to its cgroup, then let run), stop (ACPI power-down, then kill),
/// remove (process, cgroup, sockets, overlay). QEMU runs daemonized: a QEMU outlives an agent restart as a container does.
/// </summary>
internal sealed class VmNodes(string root, VmDisks disks, IHostNetwork host)
{
    /// <summary>How much longer a guest may take to become ready under TCG (emulation) than its node type says.</summary>
    public const int TcgReadinessFactor = 3;
    private static readonly TimeSpan KillWait = TimeSpan.FromSeconds(10);
    private const long DefaultMemoryBytes = 512L << 20;

    public string Root { get; } = root;

    public VmDisks Disks { get; } = disks;

    public VmNodeFiles Files(string lab, string node) => new(Root, lab, node);

    public async Task CreateAsync(LabPlan plan, NodePlan node, MgmtState? mgmt, VmAccelerator accelerator, CancellationToken ct)
    {
        var lab = plan.LabName;
        var vm = node.Vm ?? throw new LabRuntimeException(lab, node.Name, "the plan gives this VM node no VM part");
        var image = await Disks.PreparedAsync(lab, node.Name, vm.Disk, ct);
        var files = Files(lab, node.Name);
        Directory.CreateDirectory(files.Folder);
        if (node.Restore is { } saved)
        {
            // A snapshot's disk (issue #15) instead of a fresh overlay, put over this host's base image.
            await new VmDiskSnapshots(host).RestoreAsync(files, image, saved, node.Memory ?? DefaultMemoryBytes, ct);
        }
        else if (!image.DirectKernelBoot)
        {
            File.Delete(files.IncomingRam);
            File.Delete(files.Overlay);
            var made = await host.RunAsync("qemu-img", ["create", "-q", "-f", "qcow2", "-F", image.DiskFormat!, "-b", image.Disk!, files.Overlay],
                null, TimeSpan.FromSeconds(60), ct);
            if (!made.Succeeded)
            {
                throw new LabRuntimeException(lab, node.Name, $"its disk overlay could not be made on {image.Disk}: {made.Stderr.Trim()}");
            }
        }
        var addresses = mgmt?.Nodes.GetValueOrDefault(node.Name);
        var dataInterfaces = plan.Links.SelectMany(LinkTypes.NodeEnds).Where(e => e.Node == node.Name)
            .Select(e => VmTaps.Index(e.Interface) ?? 0).DefaultIfEmpty(0).Max();
        var exec = vm.CloudInit && !image.DirectKernelBoot ? vm.Exec : null;
        var execKey = exec is null ? null : await VmGuestExec.MakeKeyAsync(host, files, ct);
        var seed = vm.CloudInit && !image.DirectKernelBoot ? await WriteSeedAsync(plan, node, mgmt, addresses, execKey, files, ct) : null;
        var machine = new QemuMachine(lab, node.Name, image, files, Math.Max(1, (int)Math.Ceiling(node.Cpu ?? 1)), node.Memory ?? DefaultMemoryBytes,
            dataInterfaces, accelerator, GuestArgs(node, mgmt, addresses), vm.NicModel, seed, vm.Display);
        files.Save(new VmNodeRecord(lab, node.Name, vm.Disk, QemuCommandLine.Build(machine), addresses?.Ipv4, addresses?.Ipv6, dataInterfaces,
            vm.ReadyLog, vm.ReadyPort, vm.ReadyTimeoutSeconds, node.Cpu ?? 1, machine.MemoryBytes, node.PidsLimit, accelerator == VmAccelerator.Tcg, exec,
            vm.Display, vm.SnapshotPowerOff));
        await File.WriteAllTextAsync(files.StoppedMark, "created", ct);
    }

    /// <summary>The node's cloud-init NoCloud seed (its startup-config as user-data, its exec key), written into its folder.</summary>
    private async Task<string> WriteSeedAsync(LabPlan plan, NodePlan node, MgmtState? mgmt, MgmtAddresses? addresses, string? execKey, VmNodeFiles files,
        CancellationToken ct)
    {
        var userData = node.StartupConfig is { } config ? config.InlineText ?? await File.ReadAllTextAsync(config.HostFile!, ct) : null;
        try
        {
            await CloudInitSeed.WriteAsync(host, files.Seed, CloudInitSeed.Compose(plan.LabName, node, mgmt, addresses, userData, execKey), ct);
        }
        catch (IOException e)
        {
            throw new LabRuntimeException(plan.LabName, node.Name, e.Message, e);
        }
        return files.Seed;
    }

    /// <summary>
    /// The guest's kernel command line words (direct kernel boot): its hostname, management addresses and gateways, and
    /// the node's env (KEY=VALUE; the kernel hands words it does not know to init as environment variables).
    /// </summary>
    private static List<string> GuestArgs(NodePlan node, MgmtState? mgmt, MgmtAddresses? addresses)
    {
        var args = new List<string> { $"LTB_HOSTNAME={node.Hostname ?? node.Name}" };
        if (addresses?.Ipv4 is { } a4 && mgmt is not null)
        {
            args.Add($"LTB_MGMT_IPV4={a4}/{mgmt.Ipv4Prefix()}");
            args.AddRange(mgmt.Ipv4Gateway is { } g4 ? [$"LTB_MGMT_GW4={g4}"] : []);
        }
        if (addresses?.Ipv6 is { } a6 && mgmt is not null)
        {
            args.Add($"LTB_MGMT_IPV6={a6}/{mgmt.Ipv6Prefix()}");
            args.AddRange(mgmt.Ipv6Gateway is { } g6 ? [$"LTB_MGMT_GW6={g6}"] : []);
        }
        args.AddRange(node.Env.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value}"));
        return args;
    }

    public VmNodeRecord Record(string lab, string node) =>
        Files(lab, node).Load() ?? throw new LabRuntimeException(lab, node, "the node's VM does not exist on this host (removed outside LTB?); destroy and deploy the lab again");

    /// <summary>
    /// Starts QEMU (paused) in a new network namespace, confines it to its cgroup, loads a snapshot's RAM state if one
    /// waits (<see cref="VmNodeFiles.IncomingRam"/>: QEMU started with <c>-incoming defer</c>, the state consumed by this
    /// start only), lets the guest run; returns its pid.
    /// </summary>
    public async Task<long> StartAsync(string lab, string node, CancellationToken ct)
    {
        var files = Files(lab, node);
        var record = Record(lab, node);
        if (files.RunningPid() is { } running)
        {
            return running;
        }
        PrepareSockets(files);
        File.Delete(files.PidFile);
        await File.WriteAllTextAsync(files.BootOffset,
            (File.Exists(files.ConsoleLog) ? new FileInfo(files.ConsoleLog).Length : 0).ToString(CultureInfo.InvariantCulture), ct);
        // unshare gives QEMU a network namespace of its own (its taps live there); with -daemonize the command returns
        // once QEMU is set up (or failed, saying why on stderr).
        var incoming = File.Exists(files.IncomingRam);
        File.Delete(files.ResumedMark);
        var argv = incoming ? QemuCommandLine.WithIncoming(record.Argv) : record.Argv;
        var started = await host.RunAsync("unshare", ["--net", "--", .. argv], null, TimeSpan.FromSeconds(60), ct);
        if (!started.Succeeded || files.RunningPid() is not { } pid)
        {
            File.Delete(files.IncomingRam);
            throw new LabRuntimeException(lab, node, $"QEMU did not start (exit code {started.ExitCode}): {FirstLines(started.Stderr + started.Stdout)}");
        }
        try
        {
            if (record.Display && !OperatingSystem.IsWindows())
            {
                // QEMU makes its sockets with the process's umask; the display is the VM's screen and keyboard: root only.
                File.SetUnixFileMode(files.VncSocket, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
            new VmCgroup(CgroupName(files)).Confine(pid, record.MemoryBytes, record.Cpu, record.Pids);
            await using var qmp = await QmpClient.ConnectAsync(files.QmpSocket, ct);
            if (incoming)
            {
                await LoadRamAsync(qmp, files, record, ct);
            }
            await qmp.ExecuteAsync("cont", null, ct);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or QmpException or System.Net.Sockets.SocketException)
        {
            await KillAsync(files, CancellationToken.None);
            throw new LabRuntimeException(lab, node, $"QEMU started but could not be confined and resumed: {e.Message}", e);
        }
        catch (LabRuntimeException)
        {
            await KillAsync(files, CancellationToken.None);
            throw;
        }
        File.Delete(files.StoppedMark);
        return pid;
    }

    /// <summary>
    /// Loads the snapshot's RAM state; the file is gone afterwards whatever happened (a later start boots from the disk).
    /// Decided: QEMU's refusal (another QEMU version or machine shape) fails the node naming it, rather than a silent cold
    /// boot of a guest the user asked to find as it was.
    /// </summary>
    private static async Task LoadRamAsync(QmpClient qmp, VmNodeFiles files, VmNodeRecord record, CancellationToken ct)
    {
        try
        {
            await VmRamState.LoadAsync(qmp, files, files.IncomingRam, VmDiskSnapshots.RamTimeout(record), ct);
            await File.WriteAllTextAsync(files.ResumedMark, "resumed from a snapshot's RAM state", ct);
        }
        catch (LabRuntimeException e)
        {
            throw new LabRuntimeException(files.Lab, files.Node, $"{e.Cause}; QEMU refused the snapshot's RAM state " +
                "(taken with another QEMU version or VM shape?): deploy the topology without the snapshot, or take a snapshot without memory", e);
        }
        finally
        {
            File.Delete(files.IncomingRam);
        }
    }

    private static void PrepareSockets(VmNodeFiles files)
    {
        if (Directory.Exists(files.SocketFolder))
        {
            Directory.Delete(files.SocketFolder, recursive: true);
        }
        Directory.CreateDirectory(VmNodeFiles.SocketRoot);
        // Only root reaches a node's QMP and console: they are the VM's controls (docs/security.md).
        Directory.CreateDirectory(files.SocketFolder);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(files.SocketFolder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    /// <summary>ACPI power-down (the guest shuts down), then after <paramref name="grace"/> a kill; the node counts as stopped.</summary>
    public async Task StopAsync(string lab, string node, TimeSpan grace, CancellationToken ct)
    {
        var files = Files(lab, node);
        Record(lab, node);
        await File.WriteAllTextAsync(files.StoppedMark, "stopped", ct);
        if (files.RunningPid() is not { } pid)
        {
            return;
        }
        try
        {
            using var connect = CancellationTokenSource.CreateLinkedTokenSource(ct);
            connect.CancelAfter(TimeSpan.FromSeconds(5));
            await using var qmp = await QmpClient.ConnectAsync(files.QmpSocket, connect.Token);
            await qmp.ExecuteAsync("system_powerdown", null, connect.Token);
        }
        catch (Exception e) when (e is QmpException or System.Net.Sockets.SocketException or IOException or OperationCanceledException && !ct.IsCancellationRequested)
        {
            // QEMU does not answer: it is killed below.
        }
        if (!await ExitedAsync(pid, grace, ct))
        {
            await KillAsync(files, ct);
        }
        await new VmCgroup(CgroupName(files)).RemoveAsync(ct);
    }

    /// <summary>Kills QEMU (SIGKILL) and waits until it is gone.</summary>
    public async Task KillAsync(VmNodeFiles files, CancellationToken ct)
    {
        if (files.RunningPid() is not { } pid)
        {
            return;
        }
        try
        {
            System.Diagnostics.Process.GetProcessById((int)pid).Kill();
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            return; // gone meanwhile
        }
        if (!await ExitedAsync(pid, KillWait, ct))
        {
            throw new LabRuntimeException(files.Lab, files.Node, $"QEMU (pid {pid}) did not end within {KillWait.TotalSeconds:0} s of SIGKILL");
        }
    }

    private static async Task<bool> ExitedAsync(long pid, TimeSpan wait, CancellationToken ct)
    {
        var until = DateTime.UtcNow + wait;
        while (ProcessState.Alive(pid))
        {
            if (DateTime.UtcNow > until)
            {
                return false;
            }
            await Task.Delay(100, ct);
        }
        return true;
    }

    /// <summary>Removes everything of the node: QEMU (killed), its cgroup, sockets and files (overlay included).</summary>
    public async Task RemoveAsync(string lab, string node, CancellationToken ct)
    {
        var files = Files(lab, node);
        await KillAsync(files, ct);
        await new VmCgroup(CgroupName(files)).RemoveAsync(ct);
        if (Directory.Exists(files.SocketFolder))
        {
            Directory.Delete(files.SocketFolder, recursive: true);
        }
        if (Directory.Exists(files.Folder))
        {
            Directory.Delete(files.Folder, recursive: true);
        }
        var labFolder = Path.Combine(Root, lab);
        try
        {
            if (Directory.Exists(labFolder) && !Directory.EnumerateFileSystemEntries(labFolder).Any())
            {
                Directory.Delete(labFolder);
            }
        }
        catch (DirectoryNotFoundException)
        {
            // The lab's nodes are removed in parallel: another node's removal took the folder away first.
        }
        catch (IOException) when (Directory.Exists(labFolder))
        {
            // Not empty after all: a node of the lab is being created again.
        }
    }

    public static string CgroupName(VmNodeFiles files) => files.SocketFolder[(VmNodeFiles.SocketRoot.Length + 1)..];

    /// <summary>The node as inspect shows it: running, created, stopped (by LTB), or exited (QEMU ended by itself).</summary>
    public NodeStatus Status(VmNodeRecord r)
    {
        var files = Files(r.Lab, r.Node);
        var pid = files.RunningPid();
        var mark = File.Exists(files.StoppedMark) ? File.ReadAllText(files.StoppedMark).Trim() : null;
        var state = pid is not null ? NodeState.Running : mark == "created" ? NodeState.Created : mark is not null ? NodeState.Stopped : NodeState.Exited;
        var error = state == NodeState.Exited ? $"QEMU exited; the console's last lines: {Last(files.ConsoleTail(300))}" : null;
        // Its id: the hash that names its sockets and cgroup (not the folder: no host path in what users see).
        return new NodeStatus(r.Node, $"ltb-{r.Lab}-{r.Node}", $"qemu-{CgroupName(files)}", r.Image, state, r.MgmtIpv4, r.MgmtIpv6, (int?)pid, [], error);
    }

    private static string Last(string text) => text.Length == 0 ? "(none)" : text.ReplaceLineEndings(" | ");

    private static string FirstLines(string text)
    {
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(l => !l.Contains("warning: host doesn't support requested feature", StringComparison.Ordinal)).Take(5);
        var s = string.Join("; ", lines);
        return s.Length == 0 ? "it said nothing" : s;
    }
}
