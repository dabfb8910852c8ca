using System.Diagnostics;
using System.Globalization;
using Ltb.Runtime.Docker;
using Ltb.Runtime.Labs;
using Ltb.Runtime.Nodes.Vm;
using Ltb.Runtime.Plan;
using Ltb.Topology.Catalog;

// Usage: Ltb.Bench.Vm [runs] [vms]   (default 3 runs, 5 VMs; needs root, QEMU and the ltb/tinyvm image)
// In one run, alternating so that the machine's load hits both alike:
//  - boot-to-ready of the tiny VM image: one plain qemu-system start until its console prints the ready line, and a
//    one-VM lab deployed by LTB until it is ready (QEMU started, confined, wired, ready line seen);
//  - a lab of N VMs in a chain (LTB deploy until every VM is ready) against N plain qemu-system starts at once until
//    every one printed its ready line.
//  - boot-to-ready of every test image with a plain qemu-system start (tinyvm: direct kernel boot; tinydisk: syslinux
//    disk; debian: systemd and cloud-init with a NoCloud seed, until its cloud-init final message), where built.
// Prints the medians as a markdown table (docs/benchmarks.md, "VM nodes").
var runs = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 3;
var vms = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 5;
var options = new RuntimeOptions { StateDirectory = Path.Combine(Path.GetTempPath(), "ltb-bench-vm", "labs") };
var image = new VmImages(options.EffectiveVmImageDirectory).Resolve("ltb/tinyvm", out var problem)
    ?? throw new InvalidOperationException(problem);
var (accel, reason) = await KvmProbe.ProbeAsync(Path.Combine(Path.GetTempPath(), "ltb-bench-vm"), CancellationToken.None);
Console.WriteLine($"accelerator: {accel}{(reason.Length > 0 ? $" ({reason})" : "")}");

using var engine = DockerEngine.Connect();
var runtime = new LabRuntime(engine, null, options);
var results = new Dictionary<string, List<double>>();
void Add(string what, double s) => (results.TryGetValue(what, out var l) ? l : results[what] = []).Add(s);

var images = new VmImages(options.EffectiveVmImageDirectory);
var seed = await DebianSeedAsync();
for (var run = 0; run < runs; run++)
{
    foreach (var (name, ready, extra) in new[] { ("ltb/tinydisk", "ltb-tinyvm ready", Array.Empty<string>()),
                 ("ltb/debian", "ltb-debian ready", ["-drive", $"file={seed},format=raw,if=virtio,readonly=on"]) })
    {
        if (images.Resolve(name, out _) is { Disk: { } disk })
        {
            Add($"plain qemu-system, {name} to ready", await PlainBootAsync(accel, ready,
                ["-m", "512M", "-drive", $"file={disk},format=qcow2,if=virtio,snapshot=on", .. extra]));
        }
    }
    Add("plain qemu-system, 1 VM to ready", await PlainAsync(image, accel, 1));
    Add("LTB deploy, 1-VM lab to ready", await LtbAsync(runtime, 1, run));
    Add($"plain qemu-system, {vms} VMs at once to ready", await PlainAsync(image, accel, vms));
    var (deploy, destroy) = await LtbTimedAsync(runtime, vms, run);
    Add($"LTB deploy, {vms}-VM chain lab to ready", deploy);
    Add($"LTB destroy, {vms}-VM lab", destroy);
}
Console.WriteLine("| what | median of " + runs + " (s) | runs (s) |");
Console.WriteLine("|---|---|---|");
foreach (var (what, times) in results)
{
    var sorted = times.Order().ToList();
    Console.WriteLine(FormattableString.Invariant($"| {what} | {sorted[sorted.Count / 2]:0.00} | {string.Join(", ", times.Select(t => t.ToString("0.00", CultureInfo.InvariantCulture)))} |"));
}

static async Task<double> LtbAsync(LabRuntime runtime, int n, int run) => (await LtbTimedAsync(runtime, n, run)).Deploy;

static async Task<(double Deploy, double Destroy)> LtbTimedAsync(LabRuntime runtime, int n, int run)
{
    var lab = $"bvm{n}r{run}-{Guid.NewGuid():N}"[..12];
    var nodes = Enumerable.Range(1, n).Select(i => new NodePlan
    {
        Name = $"vm{i}", Image = "ltb/tinyvm", Runtime = NodeRuntime.Vm, Cpu = 1, Memory = 256L << 20, PidsLimit = 4096,
        Vm = new VmPlan("ltb/tinyvm") { ReadyLog = "^ltb-tinyvm ready", ReadyTimeoutSeconds = 120 },
    }).ToList();
    var links = Enumerable.Range(1, n - 1).Select(i => new LinkPlan { A = new LinkEndpoint($"vm{i}", "eth1"), B = new LinkEndpoint($"vm{i + 1}", "eth2") }).ToList();
    var sw = Stopwatch.StartNew();
    try
    {
        await runtime.DeployAsync(new LabPlan { LabName = lab, Nodes = nodes, Links = links });
        return (sw.Elapsed.TotalSeconds, await DestroyAsync());
    }
    catch
    {
        await DestroyAsync();
        throw;
    }

    async Task<double> DestroyAsync()
    {
        sw.Restart();
        await runtime.DestroyAsync(lab);
        return sw.Elapsed.TotalSeconds;
    }
}

/// <summary>A NoCloud seed for the plain Debian boot (hostname only; its network stays unconfigured).</summary>
static async Task<string> DebianSeedAsync()
{
    var folder = Directory.CreateTempSubdirectory("ltb-bench-seed-").FullName;
    var image = Path.Combine(folder, "seed.img");
    await File.WriteAllTextAsync(Path.Combine(folder, "meta-data"), "instance-id: bench\nlocal-hostname: bench\n");
    await File.WriteAllTextAsync(Path.Combine(folder, "user-data"), "#cloud-config\n");
    foreach (var (tool, argv) in new[] { ("mkfs.vfat", new[] { "-n", "CIDATA", "-C", image, "1024" }),
                 ("mcopy", ["-i", image, Path.Combine(folder, "meta-data"), Path.Combine(folder, "user-data"), "::"]) })
    {
        using var p = Process.Start(tool, argv);
        await p.WaitForExitAsync();
    }
    return image;
}

/// <summary>One plain QEMU of a disk image (a throw-away overlay: snapshot=on) until its console prints the ready line.</summary>
static async Task<double> PlainBootAsync(VmAccelerator accel, string ready, string[] machine)
{
    var sw = Stopwatch.StartNew();
    var start = new ProcessStartInfo("qemu-system-x86_64") { RedirectStandardOutput = true, RedirectStandardInput = true, UseShellExecute = false };
    foreach (var a in new[] { "-machine", "pc", "-accel", accel == VmAccelerator.Kvm ? "kvm" : "tcg", "-nodefaults", "-display", "none", "-serial", "stdio" }
                 .Concat(machine))
    {
        start.ArgumentList.Add(a);
    }
    using var q = Process.Start(start)!;
    try
    {
        await Task.Run(async () =>
        {
            while (await q.StandardOutput.ReadLineAsync() is { } line)
            {
                if (line.Contains(ready, StringComparison.Ordinal))
                {
                    return;
                }
            }
            throw new InvalidOperationException($"a plain QEMU ended before it printed '{ready}'");
        }).WaitAsync(TimeSpan.FromMinutes(15));
        return sw.Elapsed.TotalSeconds;
    }
    finally
    {
        q.Kill();
        await q.WaitForExitAsync();
    }
}

/// <summary>N plain QEMUs (the same kernel, initrd, memory and accelerator, console on stdio, no network) until each printed the ready line.</summary>
static async Task<double> PlainAsync(VmImage image, VmAccelerator accel, int n)
{
    var sw = Stopwatch.StartNew();
    var qemus = Enumerable.Range(0, n).Select(_ =>
    {
        var start = new ProcessStartInfo("qemu-system-x86_64") { RedirectStandardOutput = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (var a in new[] { "-machine", "pc", "-accel", accel == VmAccelerator.Kvm ? "kvm" : "tcg", "-m", "256M", "-nodefaults", "-display", "none",
                     "-kernel", image.Kernel!, "-initrd", image.Initrd!, "-append", image.KernelArgs, "-serial", "stdio" })
        {
            start.ArgumentList.Add(a);
        }
        return Process.Start(start)!;
    }).ToList();
    try
    {
        await Task.WhenAll(qemus.Select(async q =>
        {
            while (await q.StandardOutput.ReadLineAsync() is { } line)
            {
                if (line.StartsWith("ltb-tinyvm ready", StringComparison.Ordinal))
                {
                    return;
                }
            }
            throw new InvalidOperationException("a plain QEMU ended before its guest was ready");
        })).WaitAsync(TimeSpan.FromMinutes(5));
        return sw.Elapsed.TotalSeconds;
    }
    finally
    {
        foreach (var q in qemus)
        {
            q.Kill();
            await q.WaitForExitAsync();
            q.Dispose();
        }
    }
}
