using Ltb.Runtime.Docker;
using Ltb.Runtime.Labs;
using Ltb.Runtime.Network;
using Ltb.Runtime.Plan;
using Ltb.Runtime.Status;
using Ltb.Testing;

namespace Ltb.Runtime.Tests.Support;

/// <summary>
/// One lab a test deploys on this host with the real runtime: what the host held of it before, the deployment (its
/// progress events, how long it took, its error when a fixture keeps it), and the proof that destroy leaves nothing.
/// Disposing destroys whatever is still there without asserting, so that a failing test keeps its own failure; a test
/// proves the clean-up itself with <see cref="DestroyAsync"/> and <see cref="AssertNoLeftoversAsync"/>.
/// </summary>
public sealed class LabUnderTest : IAsyncDisposable
{
    // Every plan deployed or applied: an apply's removed links have host-side names of their own.
    private readonly List<LabPlan> _plans = [];
    private bool _destroyed;

    private LabUnderTest(LabPlan plan)
    {
        (Engine, Runtime, Net) = TestLabs.Create();
        _plans.Add(plan);
    }

    public DockerEngine Engine { get; }
    public LabRuntime Runtime { get; }
    public HostNetwork Net { get; }
    /// <summary>The plan last deployed or applied.</summary>
    public LabPlan Plan => _plans[^1];
    public string Name => Plan.LabName;
    /// <summary>What the host held of this lab before the test touched it (nothing, for a unique name).</summary>
    public Leftovers Before { get; private set; } = null!;
    /// <summary>The runtime's progress events of every deploy and apply, in order.</summary>
    public List<RuntimeEvent> Events { get; } = [];
    public TimeSpan DeployTime { get; private set; }
    /// <summary>The error of <see cref="TryDeployAsync"/>, for a class fixture to report in each test.</summary>
    public Exception? DeployError { get; private set; }
    public LabStatus? Status { get; private set; }

    /// <summary>
    /// For a test: skips (outside CI) or fails (in CI) unless the host has what the plan's backend and
    /// <paramref name="images"/> need; then records what the host holds of the lab before it is deployed.
    /// </summary>
    public static async Task<LabUnderTest> RequireAsync(LabPlan plan, params string[] images)
    {
        var missing = await TestLabs.MissingAsync(plan.LinkBackend, images);
        Prerequisite.Require(missing is null, missing ?? "");
        return await CreateAsync(plan);
    }

    /// <summary>For a class fixture, which checks <see cref="TestLabs.MissingAsync"/> itself and reports it in each test.</summary>
    public static async Task<LabUnderTest> CreateAsync(LabPlan plan)
    {
        var lab = new LabUnderTest(plan);
        lab.Before = await lab.LeftoversAsync();
        return lab;
    }

    public async Task<LabStatus> DeployAsync(DeployOptions? options = null)
    {
        _destroyed = false;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            Status = await Runtime.DeployAsync(Plan, new SyncProgress(Events), options, TestLabs.Ct);
            return Status;
        }
        finally
        {
            DeployTime = clock.Elapsed;
        }
    }

    /// <summary>Deploys and keeps the error instead of throwing it (a class fixture deploys before any test runs).</summary>
    public async Task TryDeployAsync(DeployOptions? options = null)
    {
        try
        {
            await DeployAsync(options);
        }
        catch (Exception e)
        {
            DeployError = e;
        }
    }

    /// <summary>Brings the running lab to <paramref name="plan"/>; its leftovers are checked too.</summary>
    public async Task<LabStatus> ApplyAsync(LabPlan plan, DeployOptions? options = null)
    {
        _plans.Add(plan);
        Status = await Runtime.ApplyAsync(plan, new SyncProgress(Events), options, TestLabs.Ct);
        return Status;
    }

    public async Task DestroyAsync()
    {
        await Runtime.DestroyAsync(Name, null, TestLabs.Ct);
        _destroyed = true;
    }

    /// <summary>What the host holds of <paramref name="plan"/> (by default this lab's), now.</summary>
    public Task<Leftovers> LeftoversAsync(LabPlan? plan = null) => Leftovers.FindAsync(Engine, Net, plan ?? Plan, TestLabs.StateDirectory);

    /// <summary>
    /// Nothing of the lab is on the host (neither before it was deployed): after a destroy, or after a deploy that
    /// rolled back or was refused. It does not destroy: that is what it proves.
    /// </summary>
    public async Task AssertNoLeftoversAsync()
    {
        Assert.True(Before.IsEmpty, $"before deploying: {Before}");
        foreach (var plan in _plans)
        {
            var left = await LeftoversAsync(plan);
            Assert.True(left.IsEmpty, $"left behind: {left}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_destroyed)
        {
            await Runtime.DestroyAsync(Name, null, CancellationToken.None);
        }
        Engine.Dispose();
    }
}

/// <summary>IProgress that records synchronously (Progress&lt;T&gt; posts to the thread pool).</summary>
public sealed class SyncProgress(List<RuntimeEvent> events) : IProgress<RuntimeEvent>
{
    public void Report(RuntimeEvent value)
    {
        lock (events)
        {
            events.Add(value);
        }
    }
}
