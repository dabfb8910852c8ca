using System.Diagnostics;
using System.Globalization;
using Ltb.Runtime.Docker;
using Ltb.Runtime.Status;
using Ltb.Runtime.Tests.Support;
using Ltb.Topology.Policy;

namespace Ltb.Runtime.Tests.Containment;

/// <summary>
/// What root in a student's node can do to the host, measured on real containers (docs/security.md, "Threat model"):
/// every node runs under the walls and limits LTB gives it, and the walls hold.
/// </summary>
public sealed class ContainmentTests(ContainmentFixture f) : IClassFixture<ContainmentFixture>
{
    private static readonly NodeLimits Limits = TenantPolicy.Default.NodeDefaults;

    public static TheoryData<string> StudentNodes => ["tiny", "net", "frr"];

    [Fact]
    public async Task Every_node_runs_under_its_limits_without_new_privileges_devices_or_SYS_ADMIN()
    {
        f.RequireDeployed();
        foreach (var node in f.Student.Nodes)
        {
            var c = await f.InspectAsync(f.Container(node.Name));
            var h = c.HostConfig!;
            var what = $"node {node.Name}";
            Assert.True(h.SecurityOpt?.Contains("no-new-privileges") == true, what);
            Assert.DoesNotContain(h.SecurityOpt ?? [], o => o.Contains("unconfined", StringComparison.Ordinal));
            Assert.Empty(h.Devices ?? []);
            Assert.False(h.Privileged, what);
            Assert.DoesNotContain("SYS_ADMIN", h.CapAdd ?? []);
            // Exactly the limits placement counts: the node's own (node type here), in the plan.
            Assert.Equal((long)Math.Round(node.Cpu!.Value * 1e9), h.NanoCPUs);
            Assert.Equal(node.Memory, h.Memory);
            Assert.Equal(h.Memory, h.MemorySwap); // no swap beyond the hard limit
            Assert.Equal(Limits.Pids, h.PidsLimit);
            Assert.Equal("json-file", h.LogConfig.Type);
            Assert.Equal(Limits.LogBytes.ToString(CultureInfo.InvariantCulture), h.LogConfig.Config["max-size"]);
            Assert.Equal("2", h.LogConfig.Config["max-file"]);
        }
        var kinds = f.Student.Nodes.ToDictionary(n => n.Name);
        Assert.Equal((0.5, 128L << 20), (kinds["tiny"].Cpu, kinds["tiny"].Memory)); // the linux type's
        Assert.Equal((1.0, 256L << 20), (kinds["frr"].Cpu, kinds["frr"].Memory)); // the frr type's
    }

    [Theory]
    [MemberData(nameof(StudentNodes))]
    public async Task Root_in_a_node_cannot_mount_cgroup_proc_or_sysfs_load_a_module_or_open_a_host_file_by_handle(string node)
    {
        f.RequireDeployed();
        var container = f.Container(node);
        Assert.Equal("0", (await f.ExecAsync(container, "id", "-u")).Stdout.Trim()); // root in the node

        var probe = await f.ExecAsync(container, "/escape-probe");
        var lines = probe.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        foreach (var attempt in new[] { "mount cgroup", "mount cgroup2", "mount proc", "mount sysfs", "remount /proc/sys rw", "load module" })
        {
            Assert.Contains($"{attempt}: refused: Operation not permitted", lines);
        }
        Assert.Contains("open host file by handle: refused: Operation not permitted", lines);
        Assert.Equal(0, probe.ExitCode); // nothing allowed

        // The image's own tools say the same.
        var mount = await f.ExecAsync(container, "mount", "-t", "cgroup", "-o", "memory", "cgroup", "/mnt");
        Assert.NotEqual(0, mount.ExitCode);
        Assert.Contains("ermission denied", mount.Stderr + mount.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_node_with_network_mode_container_NODE_shares_that_nodes_namespace_and_starts_after_it()
    {
        f.RequireDeployed();
        var beside = await f.InspectAsync(f.Container("beside"));
        var tiny = await f.InspectAsync(f.Container("tiny"));
        Assert.Equal($"container:{tiny.ID}", beside.HostConfig!.NetworkMode); // the engine keeps the id of the name LTB gave
        var a = (await f.ExecAsync(f.Container("tiny"), "readlink", "/proc/self/ns/net")).Stdout.Trim();
        var b = (await f.ExecAsync(f.Container("beside"), "readlink", "/proc/self/ns/net")).Stdout.Trim();
        Assert.StartsWith("net:[", a, StringComparison.Ordinal);
        Assert.Equal(a, b);
        Assert.Contains("tiny", f.Student.Nodes.Single(n => n.Name == "beside").WaitFor);
    }

    [Fact]
    public async Task A_fork_bomb_stops_at_the_pid_limit_while_the_host_and_a_neighbouring_lab_keep_working()
    {
        f.RequireDeployed();
        var container = f.Container("net");
        var neighbour = Ltb.Runtime.Nodes.Names.Container(f.Neighbour.LabName, "n1");
        // Eight shells spawning long sleeps side by side: more processes than the limit allows.
        var bomb = f.ExecAsync(container, "sh", "-c",
            "for j in 1 2 3 4 5 6 7 8; do (i=0; while [ $i -lt 200 ]; do sleep 90 & i=$((i+1)); done) 2>&1 & done; wait");
        var pids = await TestLabs.EventuallyAsync(() => PidsAsync(container), n => n >= Limits.Pids - 16, TimeSpan.FromSeconds(90));
        Assert.InRange(pids, Limits.Pids - 16, Limits.Pids); // at the limit, never above
        var ping = f.ExecAsync(neighbour, "ping", "-c", "8", "-W", "2", "10.77.0.2");
        var host = Stopwatch.StartNew();
        var hostTrue = await Testing.HostCommand.RunAsync("true"); // the host still forks
        Assert.Equal(0, hostTrue.ExitCode);
        Assert.True(host.Elapsed < TimeSpan.FromSeconds(5), $"the host took {host.Elapsed} to run a process");

        var pinged = await ping;
        Assert.Equal(0, pinged.ExitCode);
        Assert.Contains(" 0% packet loss", pinged.Stdout, StringComparison.Ordinal);

        Assert.InRange(await PidsAsync(container), 1, Limits.Pids); // still never above the limit
        KillSleeps((await f.InspectAsync(container)).ID);
        var bombed = await bomb;
        Assert.Matches("(?i)can(no|')t fork|resource temporarily unavailable", bombed.Stdout + bombed.Stderr);
        Assert.InRange(await TestLabs.EventuallyAsync(() => PidsAsync(container), n => n < 10, TimeSpan.FromSeconds(30)), 1, 9);
        Assert.True((await f.InspectAsync(container)).State!.Running);
    }

    [Fact]
    public async Task A_memory_hog_is_killed_inside_its_limit_and_the_node_keeps_running()
    {
        f.RequireDeployed();
        var container = f.Container("tiny");
        var hog = await f.ExecAsync(container, "/escape-probe", "hog");
        Assert.Equal(137, hog.ExitCode); // SIGKILL from the OOM killer of the node's cgroup
        var c = await f.InspectAsync(container);
        Assert.True(c.State!.Running); // the hog died, not the node
        var cgroup = MemoryCgroup(c.ID);
        var peak = long.Parse(File.ReadAllText(Path.Combine(cgroup, "memory.max_usage_in_bytes")), CultureInfo.InvariantCulture);
        Assert.InRange(peak, 1, c.HostConfig!.Memory);
        Assert.Matches(@"(?m)^oom_kill [1-9]", File.ReadAllText(Path.Combine(cgroup, "memory.oom_control")));

        // A node whose own process is the hog (topology memory: 64MiB) ends OOMKilled, at its limit.
        var node = await TestLabs.EventuallyAsync(() => f.InspectAsync(f.Container("hog")), i => i.State is { Running: false }, TimeSpan.FromSeconds(60));
        Assert.Equal((false, true, 137L, 64L << 20), (node.State!.Running, node.State.OOMKilled, node.State.ExitCode, node.HostConfig!.Memory));
    }

    [Fact]
    public async Task A_deployment_says_when_the_engine_runs_without_user_namespaces()
    {
        f.RequireDeployed();
        var isolation = await f.Engine.IsolationAsync(TestContext.Current.CancellationToken);
        var warnings = f.Events.Where(e => e.Kind == RuntimeEventKind.Warning && e.Message.Contains("user-namespace", StringComparison.Ordinal));
        if (isolation.UserNamespaces)
        {
            Assert.Empty(warnings);
        }
        else
        {
            Assert.Single(warnings);
        }
        Assert.True(isolation.Seccomp); // Docker's default profile is on (this host: measured in ENVIRONMENT.md)
    }

    private async Task<long> PidsAsync(string container)
    {
        var c = await f.InspectAsync(container);
        return long.Parse(File.ReadAllText($"/sys/fs/cgroup/pids/docker/{c.ID}/pids.current"), CultureInfo.InvariantCulture);
    }

    /// <summary>Ends the bomb's sleeps from the host: at the limit the engine cannot even start a `pkill` in the node.</summary>
    private static void KillSleeps(string id)
    {
        foreach (var pid in File.ReadAllLines($"/sys/fs/cgroup/pids/docker/{id}/cgroup.procs").Select(int.Parse))
        {
            try
            {
                if (File.ReadAllText($"/proc/{pid}/comm").Trim() == "sleep")
                {
                    using var p = Process.GetProcessById(pid);
                    p.Kill();
                }
            }
            catch (Exception e) when (e is IOException or ArgumentException or InvalidOperationException)
            {
                // gone meanwhile
            }
        }
    }

    private static string MemoryCgroup(string id) => $"/sys/fs/cgroup/memory/docker/{id}";
}
