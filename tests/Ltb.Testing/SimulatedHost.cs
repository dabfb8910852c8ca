using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;

namespace Ltb.Testing;

/// <summary>
/// A second lab host on this machine, for tests of remote agents: a network namespace with its own dockerd (own data
/// root, exec root, socket and containerd namespace; no default bridge, no iptables), joined to the root namespace by a
/// veth pair with a /30 (<see cref="RootAddress"/> on this side, <see cref="Address"/> inside). Processes run inside
/// with `nsenter --net` (not `ip netns exec`, which remounts /sys and breaks dockerd). Disposing stops everything it
/// started and removes the namespace, the veth pair and its folder; <see cref="LeftoversAsync"/> proves it.
/// </summary>
public sealed class SimulatedHost : IAsyncDisposable
{
    private const string Prefix = "ltbsim-";
    private static readonly SemaphoreSlim SubnetChoice = new(1, 1);
    private readonly List<Process> _processes = [];
    private Process? _dockerd;

    private SimulatedHost(string id, int subnet)
    {
        Id = id;
        Namespace = Prefix + id;
        Folder = Path.Combine(Path.GetTempPath(), Namespace);
        RootAddress = IPAddress.Parse($"10.213.{subnet}.1");
        Address = IPAddress.Parse($"10.213.{subnet}.2");
    }

    public string Id { get; }
    public string Namespace { get; }
    /// <summary>Everything of this host on disk: the engine's data and exec roots, its socket, agent data.</summary>
    public string Folder { get; }
    /// <summary>The root namespace's end of the veth pair (where a controller listens for this host).</summary>
    public IPAddress RootAddress { get; }
    /// <summary>The host's own address (where its agent listens).</summary>
    public IPAddress Address { get; }
    public string DockerHost => $"unix://{Path.Combine(Folder, "docker.sock")}";
    private string RootVeth => $"lsr-{Id}";
    private string HostVeth => $"lsh-{Id}";

    /// <summary>What a test needs for this: root, iproute2, nsenter (util-linux), dockerd and the docker CLI.</summary>
    public static void Require()
    {
        Prerequisite.RequireRoot();
        foreach (var command in new[] { "ip", "nsenter", "dockerd", "docker" })
        {
            Prerequisite.RequireCommand(command);
        }
    }

    public static async Task<SimulatedHost> StartAsync(TimeSpan? timeout = null)
    {
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3));
        // Choosing a subnet and taking it is one step: two hosts started side by side could otherwise both see N free,
        // and the root namespace would route the second one's traffic to the first.
        SimulatedHost? host = null;
        try
        {
            await SubnetChoice.WaitAsync();
            try
            {
                host = new SimulatedHost(id, await FreeSubnetAsync());
                await host.CreateNetworkAsync();
            }
            finally
            {
                SubnetChoice.Release();
            }
            await host.StartDockerAsync(timeout ?? TimeSpan.FromSeconds(60));
            return host;
        }
        catch
        {
            if (host is not null)
            {
                await host.DisposeAsync();
            }
            throw;
        }
    }

    /// <summary>A 10.213.N.0/30 that no interface of the root namespace uses yet (other tests may run beside).</summary>
    private static async Task<int> FreeSubnetAsync()
    {
        var used = (await HostCommand.RunAsync("ip", "-4", "-o", "addr", "show")).Stdout;
        for (var attempt = 0; attempt < 100; attempt++)
        {
            var n = RandomNumberGenerator.GetInt32(1, 255);
            if (!used.Contains($"10.213.{n}.", StringComparison.Ordinal))
            {
                return n;
            }
        }
        throw new InvalidOperationException("no free 10.213.N.0/30 for a simulated host");
    }

    private async Task CreateNetworkAsync()
    {
        Directory.CreateDirectory(Folder);
        await Ip("netns", "add", Namespace);
        await Ip("link", "add", RootVeth, "type", "veth", "peer", "name", HostVeth);
        await Ip("link", "set", HostVeth, "netns", Namespace);
        await Ip("addr", "add", $"{RootAddress}/30", "dev", RootVeth);
        await Ip("link", "set", RootVeth, "up");
        await InsideOk("ip", "link", "set", "lo", "up");
        await InsideOk("ip", "addr", "add", $"{Address}/30", "dev", HostVeth);
        await InsideOk("ip", "link", "set", HostVeth, "up");
    }

    private async Task StartDockerAsync(TimeSpan timeout)
    {
        var log = Path.Combine(Folder, "dockerd.log");
        _dockerd = StartInside("dockerd", [
            "--data-root", Path.Combine(Folder, "docker"), "--exec-root", Path.Combine(Folder, "exec"),
            "-p", Path.Combine(Folder, "docker.pid"), "-H", DockerHost, "--bridge", "none", "--iptables=false",
            "--containerd-namespace", Namespace, "--containerd-plugins-namespace", Namespace + "-plugins",
            // As LTB prepares every lab engine (scripts/lib.sh): root in a node is an unprivileged host user.
            "--userns-remap=default",
        ], logFile: log);
        var until = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < until)
        {
            if (_dockerd.HasExited)
            {
                throw new InvalidOperationException($"dockerd of {Namespace} exited: {File.ReadAllText(log)}");
            }
            if ((await DockerAsync("version", "--format", "{{.Server.Version}}")).ExitCode == 0)
            {
                return;
            }
            await Task.Delay(300);
        }
        throw new TimeoutException($"dockerd of {Namespace} did not answer within {timeout}: {File.ReadAllText(log)}");
    }

    /// <summary>Starts a long-running program inside the host's namespace; it is stopped when the host is disposed.</summary>
    public Process StartInside(string file, IEnumerable<string> args, IReadOnlyDictionary<string, string>? env = null, string? logFile = null)
    {
        var psi = new ProcessStartInfo("nsenter")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Repo.Root,
        };
        psi.ArgumentList.Add($"--net=/run/netns/{Namespace}");
        psi.ArgumentList.Add("--");
        psi.ArgumentList.Add(file);
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        foreach (var (k, v) in env ?? new Dictionary<string, string>())
        {
            psi.Environment[k] = v;
        }
        var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {file} in {Namespace}");
        if (logFile is not null)
        {
            // Drain both streams into the file so the process never blocks on a full pipe.
            var writer = new StreamWriter(logFile, append: true) { AutoFlush = true };
            var sync = new object();
            process.OutputDataReceived += (_, e) => { lock (sync) { if (e.Data is not null) { writer.WriteLine(e.Data); } } };
            process.ErrorDataReceived += (_, e) => { lock (sync) { if (e.Data is not null) { writer.WriteLine(e.Data); } } };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }
        lock (_processes)
        {
            _processes.Add(process);
        }
        return process;
    }

    /// <summary>Runs a command inside the namespace to its end.</summary>
    public Task<HostCommand.Result> Inside(params string[] args) =>
        HostCommand.RunAsync("nsenter", [$"--net=/run/netns/{Namespace}", "--", .. args]);

    /// <summary>The docker CLI against this host's engine.</summary>
    public Task<HostCommand.Result> DockerAsync(params string[] args) =>
        HostCommand.RunAsync("docker", ["-H", DockerHost, .. args], TimeSpan.FromMinutes(2),
            new Dictionary<string, string> { ["DOCKER_API_VERSION"] = "1.41" });

    /// <summary>Copies an image from the machine's engine into this host's (there is no registry to pull from).</summary>
    public async Task LoadImageAsync(string image)
    {
        var save = new ProcessStartInfo("docker") { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in new[] { "save", image })
        {
            save.ArgumentList.Add(a);
        }
        var load = new ProcessStartInfo("docker") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-H", DockerHost, "load" })
        {
            load.ArgumentList.Add(a);
        }
        save.Environment["DOCKER_API_VERSION"] = load.Environment["DOCKER_API_VERSION"] = "1.41";
        using var saver = Process.Start(save)!;
        using var loader = Process.Start(load)!;
        var output = loader.StandardOutput.ReadToEndAsync();
        var errors = loader.StandardError.ReadToEndAsync();
        await saver.StandardOutput.BaseStream.CopyToAsync(loader.StandardInput.BaseStream);
        loader.StandardInput.Close();
        await saver.WaitForExitAsync();
        await loader.WaitForExitAsync();
        if (saver.ExitCode != 0 || loader.ExitCode != 0)
        {
            throw new InvalidOperationException($"copying {image} into {Namespace} failed: {await output} {await errors}");
        }
    }

    /// <summary>The network interfaces inside the namespace (names), e.g. to prove a lab left none behind.</summary>
    public async Task<IReadOnlyList<string>> InterfacesAsync()
    {
        var links = (await Inside("ip", "-o", "link", "show")).EnsureSuccess("ip link").Stdout;
        return links.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(':', 3)[1].Trim().Split('@')[0])
            .ToList();
    }

    /// <summary>What is left of a simulated host with this namespace name: namespace, veth, processes, mounts, folder.</summary>
    public static async Task<IReadOnlyList<string>> LeftoversAsync(string ns)
    {
        var left = new List<string>();
        if (File.Exists($"/run/netns/{ns}"))
        {
            left.Add($"namespace {ns}");
        }
        var id = ns[Prefix.Length..];
        if ((await HostCommand.RunAsync("ip", "link", "show", $"lsr-{id}")).ExitCode == 0)
        {
            left.Add($"veth lsr-{id}");
        }
        var folder = Path.Combine(Path.GetTempPath(), ns);
        left.AddRange(File.ReadAllLines("/proc/mounts").Where(m => m.Contains(folder, StringComparison.Ordinal) || m.Contains($"/run/netns/{ns} ", StringComparison.Ordinal))
            .Select(m => $"mount {m}"));
        foreach (var dir in Directory.EnumerateDirectories("/proc").Select(Path.GetFileName).Where(d => d!.All(char.IsAsciiDigit)))
        {
            try
            {
                var cmdline = File.ReadAllText($"/proc/{dir}/cmdline").Replace('\0', ' ');
                if (cmdline.Contains(folder, StringComparison.Ordinal) || cmdline.Contains($"/run/netns/{ns}", StringComparison.Ordinal))
                {
                    left.Add($"process {dir}: {cmdline.Trim()}");
                }
            }
            catch (IOException)
            {
                // The process ended while we looked.
            }
        }
        if (Directory.Exists(folder))
        {
            left.Add($"folder {folder}");
        }
        return left;
    }

    private async Task<string[]> LabsLeftAsync()
    {
        var r = await DockerAsync("ps", "-a", "--format", "{{.Label \"org.ltb.lab\"}}");
        return r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct().ToArray();
    }

    public async ValueTask DisposeAsync()
    {
        List<Process> started;
        lock (_processes)
        {
            started = [.. _processes];
        }
        // Programs first (agents), the engine last: it stops its containers and unmounts their layers on a clean stop.
        foreach (var p in started.Where(p => p != _dockerd))
        {
            await StopAsync(p, TimeSpan.FromSeconds(15));
        }
        // A test that failed half-way leaves labs whose node namespaces are pinned in the machine's shared /run/netns.
        var labs = _dockerd is null ? [] : await LabsLeftAsync();
        if (_dockerd is not null)
        {
            await StopAsync(_dockerd, TimeSpan.FromSeconds(30));
        }
        foreach (var ns in labs.SelectMany(lab => Directory.Exists("/run/netns") ? Directory.GetFiles("/run/netns", $"ltb-{lab}-*") : []))
        {
            await HostCommand.RunAsync("ip", "netns", "del", Path.GetFileName(ns));
        }
        foreach (var line in File.ReadAllLines("/proc/mounts").Select(m => m.Split(' ')[1]).Where(m => m.StartsWith(Folder, StringComparison.Ordinal))
            .OrderByDescending(m => m.Length))
        {
            await HostCommand.RunAsync("umount", "-l", line);
        }
        await HostCommand.RunAsync("ip", "netns", "del", Namespace);
        await HostCommand.RunAsync("ip", "link", "del", RootVeth);
        if (Directory.Exists(Folder))
        {
            Directory.Delete(Folder, recursive: true);
        }
    }

    /// <summary>SIGTERM (via `kill`, so the program can clean up), then SIGKILL of the whole tree if it does not end in time.</summary>
    private static async Task StopAsync(Process process, TimeSpan grace)
    {
        if (process.HasExited)
        {
            process.Dispose();
            return;
        }
        // nsenter execs the program, so the process id is the program's own.
        await HostCommand.RunAsync("kill", "-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        using var wait = new CancellationTokenSource(grace);
        try
        {
            await process.WaitForExitAsync(wait.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
        process.Dispose();
    }

    private static async Task Ip(params string[] args) =>
        (await HostCommand.RunAsync("ip", args)).EnsureSuccess("ip " + string.Join(' ', args));

    private async Task InsideOk(params string[] args) => (await Inside(args)).EnsureSuccess(string.Join(' ', args));
}
