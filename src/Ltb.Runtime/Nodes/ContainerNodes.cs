// Docker.DotNet's models are annotated non-null but treat null as 'omit the field'.
#pragma warning disable CS8601
using System.Globalization;
using System.Text;
using Docker.DotNet;
using Docker.DotNet.Models;
using Ltb.Runtime.Docker;
using Ltb.Runtime.Labs;
using Ltb.Runtime.Plan;
using Ltb.Runtime.Status;

namespace Ltb.Runtime.Nodes;

/// <summary>
/// Container node lifecycle for <see cref="ContainerDriver"/>: create parameters, create, start, stop, remove, logs.
/// </summary>
internal sealed class ContainerNodes(DockerEngine engine, LabStateStore store)
{
    public static Dictionary<string, IDictionary<string, bool>> LabFilter(string lab) =>
        new() { ["label"] = new Dictionary<string, bool> { [$"{Names.LabLabel}={lab}"] = true } };

    /// <param name="mgmt">The management network with every node's addresses (null: the node's static addresses only).</param>
    public CreateContainerParameters BuildCreate(LabPlan plan, NodePlan node, MgmtState? mgmt = null)
    {
        var attachment = MgmtAttachments.Of(plan, node);
        var addresses = attachment == MgmtAttachment.None ? null
            : mgmt?.Nodes.GetValueOrDefault(node.Name) ?? new MgmtAddresses(node.MgmtIpv4, node.MgmtIpv6);
        var labels = new Dictionary<string, string>(node.Labels)
        {
            [Names.LabLabel] = plan.LabName,
            [Names.NodeLabel] = node.Name,
            [Names.NodeHashLabel] = Names.NodeHash(node),
            [Names.ImageLabel] = node.Image,
        };
        if (addresses?.Ipv4 is { } a4)
        {
            labels[Names.MgmtIpv4Label] = a4;
        }
        if (addresses?.Ipv6 is { } a6)
        {
            labels[Names.MgmtIpv6Label] = a6;
        }
        var binds = node.Binds.Select(b => b.ToDockerBind()).ToList();
        if (node.StartupConfig is { } sc)
        {
            var host = sc.HostFile ?? store.WriteNodeFile(plan.LabName, node.Name, "startup-config", sc.InlineText!);
            binds.Add($"{host}:{sc.ContainerPath}");
        }
        var networkMode = attachment == MgmtAttachment.Veth ? "none" : Containment.NetworkMode(plan, node, node.NetworkMode ?? plan.MgmtNetworkName);
        var p = new CreateContainerParameters
        {
            Name = Names.Container(plan.LabName, node.Name),
            Image = node.Image,
            Hostname = networkMode is "host" || networkMode.StartsWith("container:", StringComparison.Ordinal) ? null : node.Hostname ?? node.Name,
            User = node.User,
            Env = node.Env.Select(kv => $"{kv.Key}={kv.Value}").ToList(),
            Cmd = node.Cmd?.ToList(),
            Entrypoint = node.Entrypoint?.ToList(),
            Labels = labels,
            ExposedPorts = node.Ports.Count == 0 ? null : node.Ports.ToDictionary(pm => $"{pm.ContainerPort}/{pm.Protocol}", _ => default(EmptyStruct)),
            HostConfig = new HostConfig
            {
                Binds = binds,
                CapAdd = node.CapAdd.ToList(),
                Privileged = node.Privileged,
                // In the host's network namespace net.* sysctls would be the host's: the engine refuses them, so they are left out.
                Sysctls = networkMode == "host"
                    ? Sysctls(node, false)?.Where(kv => !kv.Key.StartsWith("net.", StringComparison.Ordinal)).ToDictionary()
                    : Sysctls(node, attachment == MgmtAttachment.Veth && mgmt?.Ipv6Subnet is not null),
                CpusetCpus = node.CpuSet,
                NetworkMode = networkMode,
                // An engine with user-namespace remapping refuses the host's network namespace to a remapped container:
                // an admin's network-mode host node runs in the host's user namespace too (non-admins never get it).
                UsernsMode = networkMode == "host" ? "host" : null,
                DNS = node.Dns.Count == 0 ? null : node.Dns.ToList(),
                // The lab's nodes by name (and container name): LTB-wired nodes have no Docker DNS on the management network.
                ExtraHosts = attachment == MgmtAttachment.None || mgmt is null ? null : HostsEntries(plan, mgmt),
                PortBindings = node.Ports.Count == 0 ? null : node.Ports
                    .GroupBy(pm => $"{pm.ContainerPort}/{pm.Protocol}")
                    .ToDictionary(g => g.Key, g => (IList<PortBinding>)g.Select(pm => new PortBinding { HostPort = pm.HostPort.ToString(System.Globalization.CultureInfo.InvariantCulture), HostIP = pm.HostIp }).ToList()),
            },
        };
        Containment.Apply(p.HostConfig, node);
        if (attachment == MgmtAttachment.Docker && (addresses?.Ipv4 is not null || addresses?.Ipv6 is not null))
        {
            p.NetworkingConfig = new NetworkingConfig
            {
                EndpointsConfig = new Dictionary<string, EndpointSettings>
                {
                    [plan.MgmtNetworkName] = new() { IPAMConfig = new EndpointIPAMConfig { IPv4Address = addresses!.Ipv4, IPv6Address = addresses.Ipv6 } },
                },
            };
        }
        return p;
    }

    /// <summary>
    /// The node's sysctls; a container without a Docker network has IPv6 disabled, so an LTB-wired node of a lab with
    /// IPv6 management gets it enabled (as Docker does for containers on an IPv6 network), unless the node says otherwise.
    /// </summary>
    private static Dictionary<string, string>? Sysctls(NodePlan node, bool enableIpv6)
    {
        var sysctls = new Dictionary<string, string>(node.Sysctls);
        if (enableIpv6)
        {
            sysctls.TryAdd("net.ipv6.conf.all.disable_ipv6", "0");
            sysctls.TryAdd("net.ipv6.conf.default.disable_ipv6", "0");
        }
        return sysctls.Count == 0 ? null : sysctls;
    }

    /// <summary>
    /// Rewrites the lab's entries in the /etc/hosts of a node that keeps running through an apply, so that it knows the
    /// nodes added and forgets the removed ones. Docker keeps that file on the host and bind-mounts it, so the agent
    /// rewrites it there (no shell in the node needed). Other lines (localhost, the user's own) stay as they are.
    /// </summary>
    /// <param name="names">Every name the lab had or has (nodes and their container names): lines naming them are replaced.</param>
    public async Task RefreshHostsAsync(LabPlan plan, string node, MgmtState mgmt, IReadOnlySet<string> names, CancellationToken ct)
    {
        var inspect = await engine.Client.Containers.InspectContainerAsync(Names.Container(plan.LabName, node), ct);
        if (string.IsNullOrEmpty(inspect.HostsPath) || !File.Exists(inspect.HostsPath))
        {
            return;
        }
        var others = (await File.ReadAllLinesAsync(inspect.HostsPath, ct))
            .Where(line => !line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries).Skip(1).Any(names.Contains));
        var ours = HostsEntries(plan, mgmt).Select(e => e.Split(':', 2)).Select(p => $"{p[1]}\t{p[0]}");
        await File.WriteAllLinesAsync(inspect.HostsPath, others.Concat(ours), ct);
    }

    /// <summary>The names of a lab's nodes in /etc/hosts: each node by its name and by its container name.</summary>
    public static IEnumerable<string> HostNames(string lab, IEnumerable<string> nodes) =>
        nodes.SelectMany(n => new[] { n, Names.Container(lab, n) });

    private static List<string> HostsEntries(LabPlan plan, MgmtState mgmt)
    {
        var entries = new List<string>();
        foreach (var (name, a) in mgmt.Nodes.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            foreach (var ip in new[] { a.Ipv4, a.Ipv6 }.OfType<string>())
            {
                entries.Add($"{name}:{ip}");
                entries.Add($"{Names.Container(plan.LabName, name)}:{ip}");
            }
        }
        return entries;
    }

    public async Task<string> CreateAsync(LabPlan plan, NodePlan node, MgmtState? mgmt, CancellationToken ct)
    {
        try
        {
            await WritableBinds.PrepareAsync(engine, node, ct);
            var created = await engine.Client.Containers.CreateContainerAsync(BuildCreate(plan, node, mgmt), ct);
            return created.ID;
        }
        catch (DockerApiException e) when (e.StatusCode == System.Net.HttpStatusCode.Conflict)
        {
            throw new LabRuntimeException(plan.LabName, node.Name,
                $"a container named {Names.Container(plan.LabName, node.Name)} already exists on this host (another lab or a leftover); remove it or rename the lab", e);
        }
        catch (DockerApiException e) when (node.Privileged && DockerMessage(e).Contains("privileged", StringComparison.OrdinalIgnoreCase))
        {
            // An engine with user-namespace remapping refuses privileged containers when they are created.
            throw PrivilegedRefused(plan.LabName, node.Name, DockerMessage(e), e);
        }
        catch (DockerApiException e)
        {
            throw new LabRuntimeException(plan.LabName, node.Name, $"the engine refused to create the container: {DockerMessage(e)}", e);
        }
        catch (IOException e)
        {
            throw new LabRuntimeException(plan.LabName, node.Name, e.Message, e);
        }
    }

    /// <summary>Starts the container and returns its init pid; a container that exits at once is reported with its logs.</summary>
    public async Task<long> StartAsync(string lab, NodePlan node, CancellationToken ct)
    {
        var name = Names.Container(lab, node.Name);
        try
        {
            await engine.Client.Containers.StartContainerAsync(name, new ContainerStartParameters(), ct);
        }
        catch (DockerApiException e)
        {
            var msg = DockerMessage(e);
            if (node.Privileged && (msg.Contains("caps", StringComparison.OrdinalIgnoreCase) || msg.Contains("operation not permitted", StringComparison.OrdinalIgnoreCase)))
            {
                throw PrivilegedRefused(lab, node.Name, msg, e);
            }
            throw new LabRuntimeException(lab, node.Name, $"the container did not start: {msg.Trim()}", e);
        }
        return await RunningPidAsync(lab, node.Name, ct);
    }

    private static LabRuntimeException PrivilegedRefused(string lab, string node, string engineMessage, Exception e) =>
        new(lab, node, $"privileged mode is refused by this host (the container runtime says: {engineMessage.Trim()}); " +
            "give the node an explicit capability list (e.g. NET_ADMIN, NET_RAW, SYS_ADMIN) instead of privileged", e);

    public async Task<long> RunningPidAsync(string lab, string node, CancellationToken ct)
    {
        var name = Names.Container(lab, node);
        var inspect = await engine.Client.Containers.InspectContainerAsync(name, ct);
        if (inspect.State is { Running: true, Pid: > 0 })
        {
            return inspect.State.Pid;
        }
        throw new LabRuntimeException(lab, node, await ExitedMessageAsync(name, inspect, ct));
    }

    /// <summary>
    /// Fails, naming the node, when the container whose init was <paramref name="pid"/> has exited. The engine learns of
    /// an exit a moment after the process is gone, so a vanished (or zombie) pid waits (up to 10 s) for the engine to say so.
    /// </summary>
    public async Task EnsureStillRunningAsync(string lab, string node, long pid, CancellationToken ct)
    {
        var name = Names.Container(lab, node);
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            var inspect = await engine.Client.Containers.InspectContainerAsync(name, ct);
            var running = inspect.State is { Running: true } && inspect.State.Pid == pid;
            if (running && Vm.ProcessState.Alive(pid))
            {
                return;
            }
            if (!running || DateTime.UtcNow > until)
            {
                throw new LabRuntimeException(lab, node, await ExitedMessageAsync(name, inspect, ct));
            }
            await Task.Delay(100, ct);
        }
    }

    public async Task<string> ExitedMessageAsync(string name, ContainerInspectResponse inspect, CancellationToken ct)
    {
        var logs = "";
        try
        {
            using var stream = await engine.Client.Containers.GetContainerLogsAsync(name, new ContainerLogsParameters { ShowStdout = true, ShowStderr = true, Tail = "5" }, ct);
            var (o, e) = await stream.ReadOutputToEndAsync(ct);
            logs = (o + e).Trim();
        }
        catch (DockerApiException)
        {
        }
        return $"the container exited right after it started (exit code {inspect.State?.ExitCode}{(string.IsNullOrEmpty(inspect.State?.Error) ? "" : ", " + inspect.State!.Error)})" +
               (logs.Length > 0 ? $"; its last output: {logs}" : "; it printed nothing");
    }

    /// <summary>
    /// Streams a container's output to <paramref name="write"/>, decoded as UTF-8 (a character split between two reads is
    /// kept whole), in pieces of at most 16 KiB, each written (and awaited) before the next is read: a slow reader slows
    /// the engine's stream instead of filling memory. The first piece written is empty: it says the engine opened the
    /// stream. With <paramref name="limitBytes"/> it stops after that many bytes (clamped to the hard exec limit) and
    /// returns true; without it (following) there is no limit.
    /// </summary>
    public async Task<bool> StreamLogsAsync(string lab, string node, int? tail, bool follow, long? limitBytes,
        Func<string, CancellationToken, ValueTask> write, CancellationToken ct)
    {
        var parameters = new ContainerLogsParameters { ShowStdout = true, ShowStderr = true, Follow = follow, Tail = tail?.ToString(CultureInfo.InvariantCulture) ?? "all" };
        using var stream = await engine.Client.Containers.GetContainerLogsAsync(Names.Container(lab, node), parameters, ct);
        await write("", ct); // the stream is open: a reader may answer its caller before the node writes anything
        var left = limitBytes is { } l ? Math.Clamp(l, 0, ContainerExec.HardLimitBytes) : long.MaxValue;
        var bytes = new byte[16 * 1024];
        var chars = new char[Encoding.UTF8.GetMaxCharCount(bytes.Length)];
        var utf8 = Encoding.UTF8.GetDecoder();
        while (true)
        {
            // One byte more than is left tells "more than the limit" from "exactly the limit". Compared before adding:
            // without a limit left is long.MaxValue, and left + 1 would wrap to a read of 0 bytes (a stream that ends).
            var read = await stream.ReadOutputAsync(bytes, 0, left >= bytes.Length ? bytes.Length : (int)left + 1, ct);
            if (read.EOF)
            {
                return false;
            }
            var take = (int)Math.Min(read.Count, left);
            left -= take;
            var count = utf8.GetChars(bytes, 0, take, chars, 0, flush: read.Count > take);
            if (count > 0)
            {
                await write(new string(chars, 0, count), ct);
            }
            if (read.Count > take)
            {
                return true;
            }
        }
    }

    public async Task StopAsync(string lab, string node, TimeSpan grace, CancellationToken ct) =>
        await engine.Client.Containers.StopContainerAsync(Names.Container(lab, node),
            new ContainerStopParameters { WaitBeforeKillSeconds = (uint)grace.TotalSeconds }, ct);

    public async Task<IList<ContainerListResponse>> ListAsync(string lab, CancellationToken ct) =>
        await engine.Client.Containers.ListContainersAsync(new ContainersListParameters { All = true, Filters = LabFilter(lab) }, ct);

    public async Task RemoveAsync(string id, CancellationToken ct)
    {
        try
        {
            await engine.Client.Containers.RemoveContainerAsync(id, new ContainerRemoveParameters { Force = true, RemoveVolumes = true }, ct);
        }
        catch (DockerContainerNotFoundException)
        {
        }
        catch (DockerApiException e) when (e.StatusCode == System.Net.HttpStatusCode.Conflict && (e.ResponseBody ?? "").Contains("already in progress", StringComparison.Ordinal))
        {
        }
    }

    public static string DockerMessage(DockerApiException e)
    {
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(e.ResponseBody ?? "");
            return doc.RootElement.GetProperty("message").GetString() ?? e.Message;
        }
        catch (Exception ex) when (ex is System.Text.Json.JsonException or KeyNotFoundException or InvalidOperationException or ArgumentException)
        {
            return string.IsNullOrWhiteSpace(e.ResponseBody) ? e.Message : e.ResponseBody.Trim();
        }
    }
}
