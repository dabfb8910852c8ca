using System.Diagnostics;
using System.Globalization;
using Ltb.Agent;
using Ltb.Runtime.Plan;

// The agent runs on Linux only.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]

// Usage: Ltb.Bench.Usage [nodes=50] [seconds=60] [interval=5] [image=ltb/tiny:latest]
// Deploys one lab of N linked nodes through the agent (RuntimeAgent, as `ltb agent` and the in-process host run it), then
// measures in the same run, over the same length of time and with the same nodes running:
//   idle:     the agent process doing nothing (the baseline),
//   sampling: the agent answering UsageAsync every INTERVAL seconds, as the controller asks it.
// CPU is this process's user+system time (/proc/self/stat) and dockerd's (the engine answers the stats calls), in
// percent of one core over the window; printed as one line per phase, then destroys the lab.
var n = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 50;
var seconds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 60;
var interval = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 5;
var image = args.Length > 3 ? args[3] : "ltb/tiny:latest";
var state = Directory.CreateTempSubdirectory("ltb-bench-usage-").FullName;
using var agent = new RuntimeAgent(state);
var lab = $"usage{Guid.NewGuid():N}"[..13];
var nodes = Enumerable.Range(1, n).Select(i => new NodePlan { Name = $"node{i}", Image = image, CapAdd = ["NET_ADMIN"] }).ToList();
var links = Enumerable.Range(1, n - 1).Select(i => new LinkPlan { A = new LinkEndpoint($"node{i}", "eth1"), B = new LinkEndpoint($"node{i + 1}", "eth2") }).ToList();
var sw = Stopwatch.StartNew();
await agent.DeployAsync(new LabPlan { LabName = lab, Nodes = nodes, Links = links }, new AgentDeployOptions(), null, CancellationToken.None);
Console.WriteLine(FormattableString.Invariant($"deployed {n} nodes in {sw.Elapsed.TotalSeconds:0.0} s; {Machine.Describe()}"));
// The host's engine only (not the simulated hosts' engines other tests run, which have a --data-root of their own).
var dockerd = Process.GetProcessesByName("dockerd").Select(p => p.Id)
    .Where(id => !File.ReadAllText($"/proc/{id}/cmdline").Contains("--data-root", StringComparison.Ordinal)).ToList();
try
{
    await Task.Delay(TimeSpan.FromSeconds(5)); // let the deployment's work settle
    var idle = await MeasureAsync(TimeSpan.FromSeconds(seconds), () => Task.CompletedTask, dockerd);
    var samples = 0;
    var slowest = TimeSpan.Zero;
    var sampling = await MeasureAsync(TimeSpan.FromSeconds(seconds), async () =>
    {
        var t = Stopwatch.StartNew();
        var usage = await agent.UsageAsync(CancellationToken.None);
        slowest = t.Elapsed > slowest ? t.Elapsed : slowest;
        samples++;
        if (usage.Labs.Single(l => l.Lab == lab).Nodes.Count(x => x.MemoryBytes > 0) != n)
        {
            throw new InvalidOperationException("a sample lacks nodes");
        }
    }, dockerd, TimeSpan.FromSeconds(interval));
    Console.WriteLine($"load average at the end: {Machine.LoadAverage()}");
    Console.WriteLine(FormattableString.Invariant($"idle      agent {idle.Agent:0.00} % of a core, dockerd {idle.Docker:0.00} %"));
    Console.WriteLine(FormattableString.Invariant($"sampling  agent {sampling.Agent:0.00} % of a core, dockerd {sampling.Docker:0.00} %; {samples} samples of {n} nodes every {interval} s, slowest {slowest.TotalMilliseconds:0} ms"));
}
finally
{
    await agent.DestroyAsync(lab, null, CancellationToken.None);
    Directory.Delete(state, recursive: true);
}

// CPU used over a window by this process and by the given processes, in percent of one core; `work` runs every `every`.
static async Task<(double Agent, double Docker)> MeasureAsync(TimeSpan window, Func<Task> work, IReadOnlyList<int> others, TimeSpan? every = null)
{
    var before = (Self: Ticks(Environment.ProcessId), Others: others.Sum(Ticks));
    var sw = Stopwatch.StartNew();
    while (sw.Elapsed < window)
    {
        await work();
        var next = every ?? window;
        await Task.Delay(next - TimeSpan.FromTicks(sw.Elapsed.Ticks % next.Ticks));
    }
    var elapsed = sw.Elapsed.TotalSeconds;
    var tick = 100.0; // USER_HZ
    return (100 * (Ticks(Environment.ProcessId) - before.Self) / tick / elapsed, 100 * (others.Sum(Ticks) - before.Others) / tick / elapsed);
}

// utime + stime of a process, in clock ticks (/proc/PID/stat fields 14 and 15, after the command's closing parenthesis).
static long Ticks(int pid)
{
    var stat = File.ReadAllText($"/proc/{pid}/stat");
    var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
    return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
}
