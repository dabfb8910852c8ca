using System.Net.WebSockets;
using Ltb.Runtime.Nodes;
using Ltb.Server.Api;
using Ltb.Topology.Catalog;

namespace Ltb.Server.Consoles;

/// <summary>
/// One console: a login shell in a node (an interactive exec with a TTY), or a connection to the node's SSH or telnet
/// server (Consoles/Targets), that outlives its WebSocket. The output is
/// read by one pump, kept in a ring of the last <see cref="ReplayBytes"/> (what a reattaching client sees first) and
/// passed to the owner's client and the watchers. The owner's client sets the pace (back-pressure down to the TTY, so a
/// flood slows only this console; while the owner is away nothing is read); a watcher that falls behind is dropped; an owner that stops reading for
/// <see cref="SlowClientPatience"/> is dropped too (the session stays, for a reattach).
/// </summary>
public sealed class ConsoleSession : IAsyncDisposable
{
    public const int ReplayBytes = 64 * 1024;
    private const int ChunkBytes = 32 * 1024;
    public static readonly TimeSpan SlowClientPatience = TimeSpan.FromSeconds(10);

    private readonly IExecSession _exec;
    private readonly TimeProvider _clock;
    private readonly Lock _gate = new();
    private readonly byte[] _ring = new byte[ReplayBytes];
    private long _written;
    private ConsoleClient? _owner;
    private readonly List<ConsoleClient> _watchers = [];
    private readonly CancellationTokenSource _end = new();
    private long _lastActivity;
    // Completed while the owner's client is attached: without it the shell's output waits in the TTY (bounded by the
    // kernel), so a flood nobody reads costs nothing here.
    private TaskCompletionSource _ownerHere = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private byte[]? _ended;
    private int _disposed;
    private Task _pump = Task.CompletedTask;

    public ConsoleSession(IExecSession exec, TimeProvider clock, Guid userId, string userName, Guid labId, string node,
        ConsoleType target = ConsoleType.Shell)
    {
        Target = target;
        _exec = exec;
        _clock = clock;
        UserId = userId;
        UserName = userName;
        LabId = labId;
        Node = node;
        StartedAt = clock.GetUtcNow();
        DetachedSince = StartedAt;
        Touch();
    }

    public Guid Id { get; } = Guid.NewGuid();
    public Guid UserId { get; }
    public string UserName { get; }
    public Guid LabId { get; }
    public string Node { get; }

    /// <summary>What the session is connected to: a shell in the container, the node's SSH or telnet server.</summary>
    public ConsoleType Target { get; }
    public DateTimeOffset StartedAt { get; }

    /// <summary>Since when no owner's client is attached (null while one is).</summary>
    public DateTimeOffset? DetachedSince { get; private set; }

    public DateTimeOffset LastActivity => new(Interlocked.Read(ref _lastActivity), TimeSpan.Zero);

    /// <summary>Ends when the shell ends (or the session is disposed).</summary>
    public Task Completion => _pump;

    public void Start(Action<ConsoleSession> ended) => _pump = Task.Run(async () =>
    {
        try
        {
            await PumpAsync();
        }
        finally
        {
            ended(this);
        }
    });

    public void Touch() => Interlocked.Exchange(ref _lastActivity, _clock.GetUtcNow().UtcTicks);

    public ConsoleSessionDto ToDto()
    {
        lock (_gate)
        {
            return new ConsoleSessionDto(Id, UserName, Node, StartedAt, _owner is not null, [.. _watchers.Select(w => w.UserName)],
                Targets.ConsoleTargets.Name(Target));
        }
    }

    /// <summary>
    /// Attaches a client and runs it until it leaves or is dropped: first the replay of the recent output, then what the
    /// shell writes; the owner's input goes to the shell, a watcher's is refused with an error frame. A new owner's
    /// client replaces the previous one (a reconnect before the old connection was seen to drop).
    /// </summary>
    public async Task AttachAsync(ConsoleClient client, TerminalSize? size, CancellationToken ct)
    {
        var hello = ExecSocketFrames.Encode(new ExecSocketControl("session", Session: Id)).ToArray();
        ConsoleClient? replaced = null;
        lock (_gate)
        {
            client.TryEnqueue(hello, WebSocketMessageType.Text);
            foreach (var piece in Replay())
            {
                client.TryEnqueue(piece);
            }
            if (_ended is not null)
            {
                // The shell ended meanwhile: the client gets the replay and how it ended.
                client.Finish(_ended);
            }
            else if (client.ReadOnly)
            {
                _watchers.Add(client);
            }
            else
            {
                replaced = _owner;
                _owner = client;
                DetachedSince = null;
                _ownerHere.TrySetResult();
            }
        }
        replaced?.Drop();
        Touch();
        var sending = client.SendAsync();
        try
        {
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct, client.Stopping);
            if (!client.ReadOnly && size is { IsValid: true } s)
            {
                await _exec.ResizeAsync(s, stop.Token);
            }
            if (client.ReadOnly)
            {
                await RefuseInputAsync(client, stop.Token);
            }
            else
            {
                await ExecSocket.InputAsync(client.Socket, _exec, stop.Token, Touch);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException or IOException)
        {
            // The client left or was dropped.
        }
        finally
        {
            Detach(client);
            await sending;
        }
    }

    private void Detach(ConsoleClient client)
    {
        lock (_gate)
        {
            if (ReferenceEquals(_owner, client))
            {
                _owner = null;
                DetachedSince = _clock.GetUtcNow();
                _ownerHere = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
            _watchers.Remove(client);
        }
        client.Drop();
    }

    private static async Task RefuseInputAsync(ConsoleClient client, CancellationToken ct)
    {
        var refusal = ExecSocketFrames.Encode(new ExecSocketControl("error", Message: "this is a read-only view: input refused")).ToArray();
        var buffer = new byte[ExecSocketFrames.MaxMessageBytes];
        while (await ExecSocketFrames.ReceiveAsync(client.Socket, buffer, ct) is not null)
        {
            // Dropped when the queue is full: a watcher that types but does not read gets no more refusals.
            client.TryEnqueue(refusal, WebSocketMessageType.Text);
        }
    }

    private async Task PumpAsync()
    {
        byte[] last = [];
        try
        {
            var buffer = new byte[ChunkBytes];
            while (true)
            {
                Task ownerHere;
                lock (_gate)
                {
                    ownerHere = _ownerHere.Task;
                }
                await ownerHere.WaitAsync(_end.Token);
                var (_, count) = await _exec.ReadAsync(buffer, _end.Token);
                if (count == 0)
                {
                    break;
                }
                Touch();
                var frame = new byte[count + 1];
                frame[0] = ExecSocketFrames.Stdout;
                buffer.AsSpan(0, count).CopyTo(frame.AsSpan(1));
                ConsoleClient? owner;
                ConsoleClient[] watchers;
                lock (_gate)
                {
                    Append(frame.AsSpan(1));
                    owner = _owner;
                    watchers = [.. _watchers];
                }
                foreach (var watcher in watchers.Where(w => !w.TryEnqueue(frame)))
                {
                    watcher.Drop();
                }
                if (owner is not null && !await owner.EnqueueAsync(frame, SlowClientPatience))
                {
                    owner.Drop();
                }
            }
            var exit = await _exec.ExitCodeAsync(_end.Token);
            last = ExecSocketFrames.Encode(new ExecSocketControl("exit", ExitCode: exit)).ToArray();
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or Ltb.Runtime.Status.LabRuntimeException)
        {
            last = ExecSocketFrames.Encode(new ExecSocketControl("error", Message: "the console ended")).ToArray();
        }
        finally
        {
            ConsoleClient[] clients;
            lock (_gate)
            {
                _ended = last ?? [];
                clients = [.. _watchers, .. _owner is null ? Array.Empty<ConsoleClient>() : [_owner]];
            }
            foreach (var client in clients)
            {
                client.Finish(last);
            }
        }
    }

    private void Append(ReadOnlySpan<byte> data)
    {
        if (data.Length >= ReplayBytes)
        {
            data = data[^ReplayBytes..];
        }
        var at = (int)(_written % ReplayBytes);
        var first = Math.Min(data.Length, ReplayBytes - at);
        data[..first].CopyTo(_ring.AsSpan(at));
        data[first..].CopyTo(_ring);
        _written += data.Length;
    }

    /// <summary>The ring's content in order, as output frames (caller holds the gate).</summary>
    private List<byte[]> Replay()
    {
        var length = (int)Math.Min(_written, ReplayBytes);
        var start = (int)((_written - length) % ReplayBytes);
        var first = Math.Min(length, ReplayBytes - start);
        var all = new byte[length];
        _ring.AsSpan(start, first).CopyTo(all);
        _ring.AsSpan(0, length - first).CopyTo(all.AsSpan(first));
        var frames = new List<byte[]>();
        for (var i = 0; i < length; i += ChunkBytes)
        {
            var count = Math.Min(ChunkBytes, length - i);
            var frame = new byte[count + 1];
            frame[0] = ExecSocketFrames.Stdout;
            all.AsSpan(i, count).CopyTo(frame.AsSpan(1));
            frames.Add(frame);
        }
        return frames;
    }

    /// <summary>Ends the shell (killed if it still runs) and disconnects every client.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        await _end.CancelAsync();
        await _exec.DisposeAsync();
        try
        {
            await _pump;
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
            // Ended by the disposal itself.
        }
    }
}
