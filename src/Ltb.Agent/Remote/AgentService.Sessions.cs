using Google.Protobuf;
using Grpc.Core;
using Ltb.Agent.Grpc;
using Ltb.Runtime.Nodes;
using TerminalSize = Ltb.Runtime.Nodes.TerminalSize;

namespace Ltb.Agent.Remote;

/// <summary>The agent side of the bidirectional ExecSession rpc (framing: Protos/agent.proto).</summary>
public sealed partial class AgentService
{
    /// <summary>The largest output piece the agent sends, and the largest stdin piece it takes.</summary>
    public const int SessionChunkBytes = 32 * 1024;
    public const int MaxStdinChunkBytes = 64 * 1024;

    public override Task ExecSession(IAsyncStreamReader<SessionInput> requestStream, IServerStreamWriter<SessionOutput> responseStream,
        ServerCallContext context) => GuardAsync(async () =>
    {
        var ct = context.CancellationToken;
        if (!await requestStream.MoveNext(ct) || requestStream.Current.InputCase != SessionInput.InputOneofCase.Open)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "an exec session starts with its open message"));
        }
        var open = requestStream.Current.Open;
        await using var session = await agent.OpenExecSessionAsync(new ExecSessionRequest(open.Lab, open.Node, [.. open.Command], open.Tty,
            open.Size is { } s ? new TerminalSize(s.Rows, s.Columns) : null) { NodeConsole = open.NodeConsole, NodeDisplay = open.NodeDisplay }, ct);
        await responseStream.WriteAsync(new SessionOutput { Opened = true }, ct);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var input = PumpInputAsync(requestStream, session, stop.Token);
        // One piece is read from the command only once the previous one is written: a slow controller slows the command.
        var buffer = new byte[SessionChunkBytes];
        while (true)
        {
            var (stream, count) = await session.ReadAsync(buffer, ct);
            if (count == 0)
            {
                break;
            }
            var piece = ByteString.CopyFrom(buffer, 0, count);
            await responseStream.WriteAsync(stream == ExecStream.Stderr ? new SessionOutput { Stderr = piece } : new SessionOutput { Stdout = piece }, ct);
        }
        await responseStream.WriteAsync(new SessionOutput { ExitCode = await session.ExitCodeAsync(ct) }, ct);
        await stop.CancelAsync();
        await input;
    });

    /// <summary>Applies the controller's messages to the command until the controller ends its side or the command ends.</summary>
    private static async Task PumpInputAsync(IAsyncStreamReader<SessionInput> requests, IExecSession session, CancellationToken ct)
    {
        try
        {
            while (await requests.MoveNext(ct))
            {
                var m = requests.Current;
                switch (m.InputCase)
                {
                    case SessionInput.InputOneofCase.Stdin when m.Stdin.Length <= MaxStdinChunkBytes:
                        await session.WriteAsync(m.Stdin.Memory, ct);
                        break;
                    case SessionInput.InputOneofCase.Resize:
                        await session.ResizeAsync(new TerminalSize(m.Resize.Rows, m.Resize.Columns), ct);
                        break;
                    case SessionInput.InputOneofCase.Signal when ExecSignals.Number(m.Signal) is not null:
                        await session.SignalAsync(m.Signal, ct);
                        break;
                    case SessionInput.InputOneofCase.CloseStdin:
                        await session.CloseStdinAsync(ct);
                        break;
                }
            }
            // The controller has nothing more to send: the command's stdin ends.
            await session.CloseStdinAsync(ct);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or RpcException or ObjectDisposedException)
        {
            // The command ended (its stdin is closed) or the call did: the output side reports what matters.
        }
    }
}
