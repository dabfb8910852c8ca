using Google.Protobuf;
using Grpc.Core;
using Ltb.Agent.Grpc;
using Ltb.Runtime.Nodes;
using Ltb.Runtime.Status;
using TerminalSize = Ltb.Runtime.Nodes.TerminalSize;

namespace Ltb.Agent.Remote;

public sealed partial class GrpcLabHostAgent
{
    public Task<IExecSession> OpenExecSessionAsync(ExecSessionRequest request, CancellationToken ct) => CallAsync<IExecSession>(request.Lab, async () =>
    {
        var open = new SessionOpen { Lab = request.Lab, Node = request.Node, Tty = request.Tty, NodeConsole = request.NodeConsole,
            NodeDisplay = request.NodeDisplay };
        open.Command.AddRange(request.Command);
        if (request.Size is { } size)
        {
            open.Size = new Grpc.TerminalSize { Rows = size.Rows, Columns = size.Columns };
        }
        // The call lives as long as the session (disposed with it), not as long as the caller's token of this open.
        var call = _client.ExecSession(_headers);
        try
        {
            await call.RequestStream.WriteAsync(new SessionInput { Open = open }, ct);
            if (!await call.ResponseStream.MoveNext(ct) || call.ResponseStream.Current.OutputCase != SessionOutput.OutputOneofCase.Opened)
            {
                throw new LabRuntimeException(request.Lab, request.Node, $"host '{_hostName}' did not open the session");
            }
            return new GrpcExecSession(call, request, this);
        }
        catch
        {
            call.Dispose();
            throw;
        }
    });

    /// <summary>What a failed call of a session means for the user (the runtime's own failure, or the host's).</summary>
    private Exception Failure(RpcException e, string lab) => AgentWire.FromRpc(e) is { } runtime ? runtime
        : e.StatusCode == StatusCode.Cancelled ? new OperationCanceledException(e.Status.Detail, e)
        : new LabRuntimeException(lab, null, Why(e), e);

    /// <summary>
    /// An interactive command on a remote host, over one ExecSession call. Writes (stdin, resize, signal) take turns on
    /// the request stream (gRPC allows one write at a time); each waits for the stream's flow control.
    /// </summary>
    private sealed class GrpcExecSession(AsyncDuplexStreamingCall<SessionInput, SessionOutput> call, ExecSessionRequest request,
        GrpcLabHostAgent owner) : IExecSession
    {
        private readonly SemaphoreSlim _writing = new(1, 1);
        private ReadOnlyMemory<byte> _pending;
        private ExecStream _pendingStream;
        private long? _exitCode;
        private bool _stdinClosed;

        public async ValueTask<(ExecStream Stream, int Count)> ReadAsync(Memory<byte> buffer, CancellationToken ct)
        {
            while (_pending.IsEmpty)
            {
                if (_exitCode is not null || !await Guard(() => call.ResponseStream.MoveNext(ct)))
                {
                    return (ExecStream.Stdout, 0);
                }
                var m = call.ResponseStream.Current;
                switch (m.OutputCase)
                {
                    case SessionOutput.OutputOneofCase.Stdout:
                        (_pending, _pendingStream) = (m.Stdout.Memory, ExecStream.Stdout);
                        break;
                    case SessionOutput.OutputOneofCase.Stderr:
                        (_pending, _pendingStream) = (m.Stderr.Memory, ExecStream.Stderr);
                        break;
                    case SessionOutput.OutputOneofCase.ExitCode:
                        _exitCode = m.ExitCode;
                        break;
                }
            }
            var n = Math.Min(buffer.Length, _pending.Length);
            _pending[..n].CopyTo(buffer);
            _pending = _pending[n..];
            return (_pendingStream, n);
        }

        public async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken ct)
        {
            for (var offset = 0; offset < data.Length; offset += AgentService.MaxStdinChunkBytes)
            {
                var piece = data.Slice(offset, Math.Min(AgentService.MaxStdinChunkBytes, data.Length - offset));
                await SendAsync(new SessionInput { Stdin = ByteString.CopyFrom(piece.Span) }, ct);
            }
        }

        public ValueTask CloseStdinAsync(CancellationToken ct) => SendAsync(new SessionInput { CloseStdin = true }, ct);

        public ValueTask ResizeAsync(TerminalSize size, CancellationToken ct) =>
            SendAsync(new SessionInput { Resize = new Grpc.TerminalSize { Rows = size.Rows, Columns = size.Columns } }, ct);

        public ValueTask SignalAsync(string signal, CancellationToken ct) => SendAsync(new SessionInput { Signal = signal }, ct);

        public Task<long> ExitCodeAsync(CancellationToken ct) => _exitCode is { } code ? Task.FromResult(code)
            : throw new LabRuntimeException(request.Lab, request.Node, $"the command's host '{owner._hostName}' ended the session without its exit code");

        private async ValueTask SendAsync(SessionInput message, CancellationToken ct)
        {
            await _writing.WaitAsync(ct);
            try
            {
                var stdin = message.InputCase is SessionInput.InputOneofCase.Stdin or SessionInput.InputOneofCase.CloseStdin;
                if (stdin && _stdinClosed)
                {
                    return;
                }
                _stdinClosed |= message.InputCase == SessionInput.InputOneofCase.CloseStdin;
                await Guard(async () =>
                {
                    await call.RequestStream.WriteAsync(message, ct);
                    return true;
                });
            }
            finally
            {
                _writing.Release();
            }
        }

        private async Task<T> Guard<T>(Func<Task<T>> op)
        {
            try
            {
                return await op();
            }
            catch (RpcException e)
            {
                throw owner.Failure(e, request.Lab);
            }
        }

        public ValueTask DisposeAsync()
        {
            // Cancelling the call ends it on the agent, which kills the command if it still runs.
            call.Dispose();
            _writing.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
