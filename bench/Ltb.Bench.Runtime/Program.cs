using System.Diagnostics;
using System.Globalization;
using Ltb.Runtime.Docker;
using Ltb.Runtime.Labs;
using Ltb.Runtime.Plan;

// Usage: Ltb.Bench.Runtime N [image] [backend] [parallelism]
//        Ltb.Bench.Runtime destroy LAB [STATE_DIR]   (removes a lab left by an interrupted run)
//        Ltb.Bench.Runtime floor N NETWORK [parallelism] [image]   (the engine alone, see Floor.cs)
// Deploys a chain node1 - node2 - ... - nodeN (eth1 -> next node's eth2) through LabRuntime, then destroys it.
// Prints "deploy SECONDS" and "destroy SECONDS" on stdout (one line each) for bench/deploy/run.sh.
if (args is ["destroy", var toDestroy, ..])
{
    using var e = DockerEngine.Connect();
    var stateDir = args.Length > 2 ? args[2] : Path.Combine(Path.GetTempPath(), "ltb-bench-state");
    await new LabRuntime(e, null, new RuntimeOptions { StateDirectory = stateDir }).DestroyAsync(toDestroy);
    return;
}
if (args is ["floor", var count, var network, ..])
{
    await Floor.RunAsync(int.Parse(count, CultureInfo.InvariantCulture), network,
        args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : int.MaxValue, args.Length > 4 ? args[4] : "ltb/tiny:latest");
    return;
}
var n = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 10;
var image = args.Length > 1 ? args[1] : "ltb/tiny:latest";
var backend = args.Length > 2 ? Enum.Parse<LinkBackend>(args[2], ignoreCase: true) : LinkBackend.Veth;
var options = new DeployOptions();
if (args.Length > 3)
{
    options = options with { MaxParallelism = int.Parse(args[3], CultureInfo.InvariantCulture) };
}
var lab = $"bench{n}-{Guid.NewGuid():N}"[..(12 + n.ToString(CultureInfo.InvariantCulture).Length)];
var nodes = Enumerable.Range(1, n).Select(i => new NodePlan { Name = $"node{i}", Image = image, CapAdd = ["NET_ADMIN"] }).ToList();
var links = Enumerable.Range(1, n - 1).Select(i => new LinkPlan
{
    A = new LinkEndpoint($"node{i}", "eth1"),
    B = new LinkEndpoint($"node{i + 1}", "eth2"),
}).ToList();
var plan = new LabPlan { LabName = lab, LinkBackend = backend, Nodes = nodes, Links = links };

using var engine = DockerEngine.Connect();
var runtime = new LabRuntime(engine, null, new RuntimeOptions { StateDirectory = Path.Combine(Path.GetTempPath(), "ltb-bench-state") });
var sw = Stopwatch.StartNew();
try
{
    var verbose = Environment.GetEnvironmentVariable("LTB_BENCH_VERBOSE") is null ? null : new Verbose(sw);
    await runtime.DeployAsync(plan, verbose, options);
    verbose?.Summary(sw.Elapsed.TotalSeconds);
    Console.WriteLine(FormattableString.Invariant($"deploy {sw.Elapsed.TotalSeconds:0.00}"));
}
finally
{
    sw.Restart();
    await runtime.DestroyAsync(lab);
    Console.WriteLine(FormattableString.Invariant($"destroy {sw.Elapsed.TotalSeconds:0.00}"));
}

/// <summary>LTB_BENCH_VERBOSE: every lab-level event as it comes, and at the end when each phase ended.</summary>
internal sealed class Verbose(Stopwatch sw) : IProgress<Ltb.Runtime.Status.RuntimeEvent>
{
    private readonly Lock _gate = new();
    private readonly List<(double At, string Phase)> _marks = [];

    public void Report(Ltb.Runtime.Status.RuntimeEvent value)
    {
        var at = sw.Elapsed.TotalSeconds;
        lock (_gate)
        {
            var phase = value.Message switch
            {
                var m when m.StartsWith("management network", StringComparison.Ordinal) => "management network created",
                "created" => "all containers created",
                "started" => "all containers started",
                var m when m.EndsWith("links up", StringComparison.Ordinal) => "links wired",
                "deployed" => "deployed (status inspected after)",
                _ => null,
            };
            if (phase is not null)
            {
                _marks.RemoveAll(x => x.Phase == phase);
                _marks.Add((at, phase));
            }
        }
        if (value.Kind != Ltb.Runtime.Status.RuntimeEventKind.Progress || value.Node is null)
        {
            Console.Error.WriteLine(FormattableString.Invariant($"{at,7:0.00} {value}"));
        }
    }

    public void Summary(double total)
    {
        var before = 0.0;
        foreach (var (at, phase) in _marks.OrderBy(x => x.At).Append((total, "returned")))
        {
            Console.Error.WriteLine(FormattableString.Invariant($"phase: {phase,-40} at {at,7:0.00} s (+{at - before:0.00} s)"));
            before = at;
        }
    }
}
