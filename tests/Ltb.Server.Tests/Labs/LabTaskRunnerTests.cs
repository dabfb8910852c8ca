using Grpc.Core;
using Ltb.Runtime.Status;
using Ltb.Server.Data;
using Ltb.Server.Labs;
using Ltb.Server.Labs.Tasks;
using Ltb.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Ltb.Server.Tests.Labs;

/// <summary>
/// The runner's part of every task kind (claiming, retries, hosts that went away, progress), with a fake handler and
/// no Docker: the tasks run straight through <see cref="LabTaskRunner.RunAsync"/> on the server's real store. And the
/// mirror and snapshot tasks, which this server cannot do yet: they fail naming the lab and leave the lab as it was.
/// </summary>
public abstract class LabTaskRunnerTests<TServer>(TServer fixture) : IClassFixture<TServer>
    where TServer : ServerFixture
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_task_is_claimed_runs_its_handler_once_flushes_progress_while_it_runs_and_saves_the_outcome()
    {
        fixture.Require();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var handler = new FakeHandler
        {
            Work = async (run, ct) =>
            {
                run.Progress.Report(new RuntimeEvent(DateTimeOffset.UtcNow, run.RuntimeName, "a", RuntimeEventKind.Info, "step one"));
                await release.Task.WaitAsync(ct);
                return "the result";
            },
        };
        var (lab, task) = await SeedAsync(LabLifecycle.Pending);

        var running = RunAsync(handler, task);
        // The progress line reaches the store while the work is still under way (flushed about once a second).
        var seen = await WaitForAsync(task, t => t.Progress == "a: step one", TimeSpan.FromSeconds(30));
        Assert.Equal(LabTaskState.Running, seen.State);
        Assert.Equal(LabLifecycle.Deploying, (await LabAsync(lab)).State); // the handler's Begin, saved before the work
        release.SetResult();
        await running;

        var done = await TaskAsync(task);
        Assert.Equal(LabTaskState.Succeeded, done.State);
        Assert.Equal(1, done.Attempts);
        Assert.NotNull(done.FinishedAt);
        Assert.Contains("attempt 1 of 5 on replica", done.Log, StringComparison.Ordinal);
        Assert.Contains("a: step one", done.Log, StringComparison.Ordinal);
        Assert.Equal(new[] { 1 }, handler.Attempts);
        Assert.Equal("the result", handler.Result);
        Assert.Equal(LabLifecycle.Running, (await LabAsync(lab)).State);
        var events = await EventsAsync(lab);
        Assert.Contains(events, e => e.Node == "a" && e.Message == "step one");

        // A finished task is never run again (a second delivery of its job does nothing).
        await RunAsync(handler, task);
        Assert.Equal(new[] { 1 }, handler.Attempts);
        Assert.Equal(LabTaskState.Succeeded, (await TaskAsync(task)).State);
    }

    [Fact]
    public async Task A_transient_failure_puts_the_task_back_in_the_queue_and_the_next_attempt_is_a_retry()
    {
        fixture.Require();
        var handler = new FakeHandler
        {
            Work = (run, _) => run.IsRetry
                ? Task.FromResult<object?>("converged")
                : throw new RpcException(new Status(StatusCode.Unavailable, "connection refused")),
        };
        var (lab, task) = await SeedAsync(LabLifecycle.Pending);

        var later = await Assert.ThrowsAsync<RetryLaterException>(() => RunAsync(handler, task));
        Assert.Equal(LabTaskRetry.Delay(1), later.Delay);
        var queued = await TaskAsync(task);
        Assert.Equal(LabTaskState.Queued, queued.State);
        Assert.Equal(1, queued.Attempts);
        Assert.Contains("attempt 1 failed", queued.Progress, StringComparison.Ordinal);
        Assert.Null(handler.Failure); // the lab's outcome is not decided by an attempt that will be retried
        Assert.Equal(LabLifecycle.Deploying, (await LabAsync(lab)).State);

        await RunAsync(handler, task);
        Assert.Equal(new[] { 1, 2 }, handler.Attempts);
        Assert.Equal(LabTaskState.Succeeded, (await TaskAsync(task)).State);
        Assert.Equal(LabLifecycle.Running, (await LabAsync(lab)).State);
    }

    [Fact]
    public async Task Retries_end_at_the_handlers_attempts_and_a_final_failure_is_the_handlers_to_judge()
    {
        fixture.Require();
        var handler = new FakeHandler
        {
            Retry = new LabTaskRetry(e => e is IOException, MaxAttempts: 2),
            Work = (_, _) => throw new IOException("the stream dropped"),
        };
        var (lab, task) = await SeedAsync(LabLifecycle.Pending);

        await Assert.ThrowsAsync<RetryLaterException>(() => RunAsync(handler, task));
        await RunAsync(handler, task); // attempt 2 of 2: final

        var failed = await TaskAsync(task);
        Assert.Equal(LabTaskState.Failed, failed.State);
        Assert.Equal(2, failed.Attempts);
        Assert.Contains("attempt 2 of 2", failed.Log, StringComparison.Ordinal);
        Assert.Equal($"lab '{lab.Name}': the stream dropped", failed.Error);
        Assert.Equal(failed.Error, handler.Failure);
        Assert.Equal(LabLifecycle.Failed, (await LabAsync(lab)).State);
        Assert.Contains(await EventsAsync(lab), e => e.Level == LabEventLevel.Error && e.Message == failed.Error);

        // A failure the handler does not retry ends the task at its first attempt.
        var final = new FakeHandler { Work = (_, _) => throw new InvalidOperationException("the plan is wrong") };
        var (_, other) = await SeedAsync(LabLifecycle.Pending);
        await RunAsync(final, other);
        var once = await TaskAsync(other);
        Assert.Equal((LabTaskState.Failed, 1), (once.State, once.Attempts));
    }

    [Fact]
    public async Task A_task_whose_host_went_away_waits_without_using_an_attempt_then_fails_naming_the_host()
    {
        fixture.Require();
        var handler = new FakeHandler();
        var host = ServerFixture.Unique("away");
        var (lab, task) = await SeedAsync(LabLifecycle.Running, remoteHost: host);

        var waiting = await Assert.ThrowsAsync<RetryLaterException>(() => RunAsync(handler, task));
        Assert.Equal(LabTaskRunner.HostAwayPoll, waiting.Delay);
        var queued = await TaskAsync(task);
        Assert.Equal((LabTaskState.Queued, 0), (queued.State, queued.Attempts));
        Assert.Contains($"waiting for host '{host}'", queued.Log, StringComparison.Ordinal);

        // Past the bound (10 minutes since the later of the task's creation and the host's last heartbeat).
        await using (var scope = fixture.Server.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<LtbDbContext>();
            var past = DateTimeOffset.UtcNow - TimeSpan.FromMinutes(11);
            await db.LabTasks.Where(t => t.Id == task).ExecuteUpdateAsync(u => u.SetProperty(t => t.CreatedAt, past), Ct);
            await db.LabHosts.Where(h => h.Name == host).ExecuteUpdateAsync(u => u.SetProperty(h => h.LastSeenAt, past), Ct);
        }
        await RunAsync(handler, task);

        var failed = await TaskAsync(task);
        Assert.Equal(LabTaskState.Failed, failed.State);
        Assert.StartsWith($"lab '{lab.Name}': host '{host}' is unreachable", failed.Error, StringComparison.Ordinal);
        Assert.Empty(handler.Attempts); // the work never ran
        Assert.Equal(failed.Error, handler.Failure);
    }

    [Fact]
    public async Task A_mirror_task_the_host_refuses_fails_once_and_the_lab_keeps_its_state()
    {
        fixture.Require();
        // The lab is only in the database: the host's runtime refuses (a final verdict, not a transport failure).
        var (lab, task) = await SeedAsync(LabLifecycle.Running, LabTaskKind.Mirror, """{"node":"a","interface":"eth1","name":"m1"}""");

        fixture.Server.Services.GetRequiredService<ILabTaskQueue>().Enqueue(lab.HostId, task);
        var done = await LabTestSupport.WaitAsync(fixture.Admin, task);

        Assert.Equal("failed", done.State);
        Assert.Equal(1, done.Attempts);
        Assert.Contains("the lab is not deployed on this host", done.Error, StringComparison.Ordinal);
        var after = await LabAsync(lab);
        Assert.Equal(LabLifecycle.Running, after.State);
        Assert.Null(after.Error);
        Assert.Contains(await EventsAsync(lab), e => e.Level == LabEventLevel.Error && e.Message == done.Error);
    }

    [Fact]
    public async Task A_snapshot_task_the_host_refuses_fails_once_leaves_nothing_of_the_snapshot_and_the_lab_keeps_its_state()
    {
        fixture.Require();
        // The lab is only in the database: the host's runtime refuses (a final verdict), and the snapshot must go.
        var snapshotId = Guid.NewGuid();
        var input = LabTaskInput.Write(new SnapshotInput(snapshotId, "before-exam", "lab.clab.yml", null,
            [new SnapshotNodeInput("a", "linux", "ltb/tiny:latest", null, null, null, [])], 1L << 30));
        var (lab, task) = await SeedAsync(LabLifecycle.Running, LabTaskKind.Snapshot, input);
        await using (var scope = fixture.Server.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<LtbDbContext>();
            db.Snapshots.Add(new StoredSnapshot
            {
                Id = snapshotId, Name = "before-exam", OwnerId = lab.OwnerId, LabId = lab.Id, LabName = lab.Name, TaskId = task,
                State = SnapshotState.Creating, CreatedAt = DateTimeOffset.UtcNow,
            });
            await db.SaveChangesAsync(Ct);
        }

        fixture.Server.Services.GetRequiredService<ILabTaskQueue>().Enqueue(lab.HostId, task);
        var done = await LabTestSupport.WaitAsync(fixture.Admin, task);

        Assert.Equal("failed", done.State);
        Assert.Equal(1, done.Attempts); // not retried: the user asks again
        Assert.False(string.IsNullOrEmpty(done.Error));
        var after = await LabAsync(lab);
        Assert.Equal(LabLifecycle.Running, after.State);
        Assert.Null(after.Error);
        Assert.Equal(lab.StatusJson, after.StatusJson);
        await using (var scope = fixture.Server.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<LtbDbContext>();
            Assert.False(await db.Snapshots.AnyAsync(x => x.Id == snapshotId, Ct));
        }
        Assert.False(Directory.Exists(Path.Combine(fixture.DataDirectory, "snapshots", snapshotId.ToString("N"))));
        Assert.False(Directory.Exists(Path.Combine(fixture.DataDirectory, "snapshots", ".staging", snapshotId.ToString("N"))));
    }

    [Fact]
    public async Task A_task_of_a_kind_without_a_handler_fails_and_leaves_the_lab_alone()
    {
        fixture.Require();
        var (lab, task) = await SeedAsync(LabLifecycle.Running, LabTaskKind.Snapshot, "{}");
        await using var scope = fixture.Server.Services.CreateAsyncScope();
        var runner = ActivatorUtilities.CreateInstance<LabTaskRunner>(scope.ServiceProvider, new LabTaskHandlers([]));
        await runner.RunAsync(task, Ct);

        var failed = await TaskAsync(task);
        Assert.Equal(LabTaskState.Failed, failed.State);
        Assert.Contains("cannot run Snapshot tasks", failed.Error, StringComparison.Ordinal);
        Assert.Equal(LabLifecycle.Running, (await LabAsync(lab)).State);
    }

    /// <summary>A lab (owned by the admin, on the local host or a remote one that stopped answering) and a queued task.</summary>
    private async Task<(Lab Lab, Guid Task)> SeedAsync(LabLifecycle state, LabTaskKind kind = LabTaskKind.Deployment, string input = "{}",
        string? remoteHost = null)
    {
        await using var scope = fixture.Server.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<LtbDbContext>();
        var now = DateTimeOffset.UtcNow;
        var host = await db.LabHosts.FirstAsync(h => h.IsLocal, Ct);
        if (remoteHost is not null)
        {
            host = new LabHost
            {
                Id = Guid.NewGuid(), Name = remoteHost, Address = "127.0.0.1:9", State = LabHostState.Unreachable, CreatedAt = now,
                UpdatedAt = now, LastSeenAt = now,
            };
            db.LabHosts.Add(host);
        }
        var name = ServerFixture.Unique("rt");
        var lab = new Lab
        {
            Id = Guid.NewGuid(), Name = name, RuntimeName = name + "-0a1b2c", OwnerId = (await db.Users.FirstAsync(u => u.UserName == "admin", Ct)).Id,
            HostId = host.Id, State = state, StatusJson = """{"nodes":[],"links":[]}""", CreatedAt = now, UpdatedAt = now,
        };
        db.Labs.Add(lab);
        var task = LabReconciler.NewTask(lab, kind, input, now);
        db.LabTasks.Add(task);
        await db.SaveChangesAsync(Ct);
        return (lab, task.Id);
    }

    /// <summary>Runs a task as its job would, in a scope of its own, with only <paramref name="handler"/> registered.</summary>
    private async Task RunAsync(ILabTaskHandler handler, Guid task)
    {
        await using var scope = fixture.Server.Services.CreateAsyncScope();
        var runner = ActivatorUtilities.CreateInstance<LabTaskRunner>(scope.ServiceProvider, new LabTaskHandlers([handler]));
        await runner.RunAsync(task, Ct);
    }

    private async Task<LabTask> TaskAsync(Guid id)
    {
        await using var scope = fixture.Server.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<LtbDbContext>().LabTasks.AsNoTracking().FirstAsync(t => t.Id == id, Ct);
    }

    private async Task<Lab> LabAsync(Lab lab)
    {
        await using var scope = fixture.Server.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<LtbDbContext>().Labs.AsNoTracking().FirstAsync(l => l.Id == lab.Id, Ct);
    }

    private async Task<List<LabEvent>> EventsAsync(Lab lab)
    {
        await using var scope = fixture.Server.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<LtbDbContext>().LabEvents.AsNoTracking().Where(e => e.LabId == lab.Id).ToListAsync(Ct);
    }

    private async Task<LabTask> WaitForAsync(Guid task, Func<LabTask, bool> done, TimeSpan timeout)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        limit.CancelAfter(timeout);
        while (true)
        {
            var t = await TaskAsync(task);
            if (done(t))
            {
                return t;
            }
            await Task.Delay(100, limit.Token);
        }
    }

    /// <summary>
    /// A handler of the deployment kind whose work is given by the test: Begin marks the lab deploying, success running,
    /// failure failed (as a deployment does), and it remembers what the runner asked of it.
    /// </summary>
    private sealed class FakeHandler : ILabTaskHandler
    {
        public LabTaskKind Kind => LabTaskKind.Deployment;
        public LabTaskRetry Retry { get; init; } = LabTaskRetry.OnTransportFailures;
        public Func<LabTaskRun, CancellationToken, Task<object?>> Work { get; init; } = (_, _) => Task.FromResult<object?>("done");
        public List<int> Attempts { get; } = [];
        public object? Result { get; private set; }
        public string? Failure { get; private set; }

        public void Begin(LabTask task, Lab lab) => lab.State = LabLifecycle.Deploying;

        public Task<object?> RunAsync(LabTask task, LabTaskRun run, CancellationToken ct)
        {
            Attempts.Add(run.Attempt);
            return Work(run, ct);
        }

        public Task SucceededAsync(LabTask task, Lab lab, object? result, CancellationToken ct)
        {
            Result = result;
            lab.State = LabLifecycle.Running;
            return Task.CompletedTask;
        }

        public Task FailedAsync(LabTask task, Lab lab, string error, CancellationToken ct)
        {
            Failure = error;
            lab.State = LabLifecycle.Failed;
            return Task.CompletedTask;
        }
    }
}

public sealed class LabTaskRunnerOnSqlite(SqliteServer fixture) : LabTaskRunnerTests<SqliteServer>(fixture);

public sealed class LabTaskRunnerOnPostgres(PostgresServer fixture) : LabTaskRunnerTests<PostgresServer>(fixture);
