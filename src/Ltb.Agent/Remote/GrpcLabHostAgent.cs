using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Ltb.Agent.Grpc;
using Ltb.Runtime.Docker;
using Ltb.Runtime.Plan;
using Ltb.Runtime.Status;
using RuntimeEvent = Ltb.Runtime.Status.RuntimeEvent;

namespace Ltb.Agent.Remote;

/// <summary>
/// The controller's client of a remote `ltb agent`: every <see cref="ILabHostAgent"/> operation is one rpc of
/// Protos/agent.proto. A runtime failure on the host comes back as the same <see cref="LabRuntimeException"/>; a host
/// that cannot be reached or refuses the controller becomes a LabRuntimeException naming the host, so a task fails with
/// a message a user can act on.
/// </summary>
public sealed partial class GrpcLabHostAgent : ILabHostAgent, IDisposable
{
    private readonly GrpcChannel _channel;
    private readonly LabHostAgent.LabHostAgentClient _client;
    private readonly Metadata _headers;
    private readonly string _hostName;

    /// <param name="address">The agent's gRPC URL (https://HOST:PORT; http:// only for agents started with --insecure).</param>
    /// <param name="secret">The per-agent secret given to the agent at registration.</param>
    /// <param name="caCertificatePem">A CA file that signed the agents' certificates; null: the system's trust store.</param>
    public GrpcLabHostAgent(string hostName, string address, string secret, string? caCertificatePem = null)
    {
        _hostName = hostName;
        var handler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            KeepAlivePingDelay = TimeSpan.FromSeconds(30),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(20),
            ConnectTimeout = TimeSpan.FromSeconds(10),
        };
        if (caCertificatePem is not null)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = AgentCertificates.TrustOnly(caCertificatePem);
        }
        _channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            HttpHandler = handler,
            MaxReceiveMessageSize = AgentWire.MaxMessageBytes,
            MaxSendMessageSize = AgentWire.MaxMessageBytes,
        });
        _client = new LabHostAgent.LabHostAgentClient(_channel);
        _headers = new Metadata { { "authorization", "Bearer " + secret } };
    }

    public async Task<AgentHealth> CheckAsync(CancellationToken ct)
    {
        try
        {
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
            limit.CancelAfter(TimeSpan.FromSeconds(10));
            var reply = await _client.CheckAsync(new CheckRequest(), _headers, cancellationToken: limit.Token);
            return new AgentHealth(reply.Reachable, reply.Message);
        }
        catch (RpcException e)
        {
            return new AgentHealth(false, Why(e));
        }
    }

    public Task<LabStatus> DeployAsync(LabPlan plan, AgentDeployOptions options, IProgress<RuntimeEvent>? progress, CancellationToken ct) =>
        DeployOrApplyAsync(plan, options, progress, apply: false, ct);

    public Task<LabStatus> ApplyAsync(LabPlan plan, AgentDeployOptions options, IProgress<RuntimeEvent>? progress, CancellationToken ct) =>
        DeployOrApplyAsync(plan, options, progress, apply: true, ct);

    private Task<LabStatus> DeployOrApplyAsync(LabPlan plan, AgentDeployOptions options, IProgress<RuntimeEvent>? progress, bool apply,
        CancellationToken ct) => CallAsync(plan.LabName, async () =>
    {
        await SendVmImagesAsync(plan, options.VmImagesRoot, progress, ct);
        var request = new DeployRequest
        {
            PlanJson = AgentWire.ToJson(plan),
            Options = new DeployOptions { Rollback = options.Rollback, TimeoutSeconds = options.TimeoutSeconds, Converge = options.Converge },
        };
        // Every deployment folder the plan uses goes along; the agent keeps the ones it has already.
        if (options.FilesRoot is { } root && Directory.Exists(root) && LabFiles.Folders(plan, root) is { Count: > 0 } folders)
        {
            request.FilesRoot = root;
            await SendLabFilesAsync(plan.LabName, root, folders, request, progress, ct);
        }
        using var call = apply
            ? _client.Apply(request, _headers, cancellationToken: ct)
            : _client.Deploy(request, _headers, cancellationToken: ct);
        var status = await ReadAsync(call.ResponseStream, progress, ct);
        return status is null
            ? throw new LabRuntimeException(plan.LabName, null, $"host '{_hostName}' ended the deployment without a status")
            : AgentWire.FromJson<LabStatus>(status);
    });

    public Task DestroyAsync(string lab, IProgress<RuntimeEvent>? progress, CancellationToken ct) => CallAsync(lab, async () =>
    {
        using var call = _client.Destroy(new LabRequest { Lab = lab }, _headers, cancellationToken: ct);
        await ReadAsync(call.ResponseStream, progress, ct);
        return true;
    });

    public Task<LabStatus> InspectAsync(string lab, CancellationToken ct) => CallAsync(lab, async () =>
        AgentWire.FromJson<LabStatus>((await _client.InspectAsync(new LabRequest { Lab = lab }, _headers, cancellationToken: ct)).StatusJson));

    public Task<IReadOnlyList<string>> ListLabsAsync(CancellationToken ct) => CallAsync<IReadOnlyList<string>>(null, async () =>
        (await _client.ListLabsAsync(new ListLabsRequest(), _headers, cancellationToken: ct)).Labs.ToList());

    public Task<ExecResult> ExecAsync(string lab, string node, IReadOnlyList<string> command, TimeSpan timeout, long outputLimitBytes,
        CancellationToken ct) => CallAsync(lab, async () =>
        {
            var request = new ExecRequest
            {
                Lab = lab, Node = node, TimeoutSeconds = (int)Math.Ceiling(timeout.TotalSeconds), OutputLimitBytes = outputLimitBytes,
            };
            request.Command.AddRange(command);
            var reply = await _client.ExecAsync(request, _headers, cancellationToken: ct);
            return new ExecResult(reply.ExitCode, reply.Stdout, reply.Stderr, reply.Truncated);
        });

    public Task<NodeDetails> DescribeNodeAsync(string lab, string node, CancellationToken ct) => CallAsync(lab, async () =>
        AgentWire.FromJson<NodeDetails>((await _client.DescribeNodeAsync(new NodeRequest { Lab = lab, Node = node }, _headers, cancellationToken: ct)).DetailsJson));

    public Task<HostUsage> UsageAsync(CancellationToken ct) => CallAsync(null, async () =>
        AgentWire.FromJson<HostUsage>((await _client.UsageAsync(new UsageRequest(), _headers, cancellationToken: ct)).UsageJson));

    public Task<NodeStatus> NodeActionAsync(string lab, string node, NodeAction action, CancellationToken ct) => CallAsync(lab, async () =>
    {
        var request = new NodeActionRequest
        {
            Lab = lab, Node = node,
            Action = action switch { NodeAction.Stop => Grpc.NodeAction.Stop, NodeAction.Start => Grpc.NodeAction.Start, _ => Grpc.NodeAction.Restart },
        };
        return AgentWire.FromJson<NodeStatus>((await _client.NodeActionAsync(request, _headers, cancellationToken: ct)).NodeStatusJson);
    });

    public Task SetLinkStateAsync(string lab, string node, string iface, bool up, CancellationToken ct) => CallAsync(lab, async () =>
    {
        await _client.SetLinkStateAsync(new LinkStateRequest { Lab = lab, Node = node, Interface = iface, Up = up }, _headers, cancellationToken: ct);
        return true;
    });

    public Task<bool> NodeLogsAsync(string lab, string node, int? tail, bool follow, long limitBytes,
        Func<string, CancellationToken, ValueTask> write, CancellationToken ct) => CallAsync(lab, async () =>
    {
        var request = new NodeLogsRequest { Lab = lab, Node = node, Follow = follow, LimitBytes = limitBytes };
        if (tail is { } lines)
        {
            request.Tail = lines;
        }
        using var call = _client.NodeLogs(request, _headers, cancellationToken: ct);
        var cut = false;
        // One piece at a time: the next is asked for once this one is written (the stream's flow control does the rest).
        while (await call.ResponseStream.MoveNext(ct))
        {
            cut |= call.ResponseStream.Current.Truncated;
            if (!call.ResponseStream.Current.Truncated)
            {
                await write(call.ResponseStream.Current.Data.ToStringUtf8(), ct);
            }
        }
        return cut;
    });

    public Task CaptureAsync(Ltb.Runtime.Capture.PacketCaptureRequest request, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> write,
        CancellationToken ct) => CallAsync(request.Lab, async () =>
    {
        var message = new CaptureRequest
        {
            Lab = request.Lab, Node = request.Node, Interface = request.Interface, Filter = request.Filter ?? "", SnapLength = request.SnapLength,
            Mirror = request.Mirror,
        };
        using var call = _client.Capture(message, _headers, cancellationToken: ct);
        while (await call.ResponseStream.MoveNext(ct))
        {
            await write(call.ResponseStream.Current.Data.Memory, ct);
        }
        return true;
    });

    public Task<Ltb.Runtime.Capture.MirrorStatus> MirrorAsync(Ltb.Runtime.Capture.MirrorRequest request, bool remove, CancellationToken ct) =>
        CallAsync(request.Lab, async () =>
        {
            var reply = await _client.MirrorAsync(new MirrorChangeRequest
            {
                Lab = request.Lab, Node = request.Node, Interface = request.Interface, Name = request.Name, Remove = remove,
            }, _headers, cancellationToken: ct);
            return new Ltb.Runtime.Capture.MirrorStatus(reply.Name, reply.Node, reply.Interface);
        });

    /// <summary>Reads progress events until the stream ends; returns the status message when one came.</summary>
    private static async Task<string?> ReadAsync(IAsyncStreamReader<LabUpdate> stream, IProgress<RuntimeEvent>? progress, CancellationToken ct)
    {
        string? status = null;
        while (await stream.MoveNext(ct))
        {
            switch (stream.Current.UpdateCase)
            {
                case LabUpdate.UpdateOneofCase.Event:
                    progress?.Report(AgentWire.FromMessage(stream.Current.Event));
                    break;
                case LabUpdate.UpdateOneofCase.StatusJson:
                    status = stream.Current.StatusJson;
                    break;
            }
        }
        return status;
    }

    private async Task<T> CallAsync<T>(string? lab, Func<Task<T>> call)
    {
        try
        {
            return await call();
        }
        catch (RpcException e) when (AgentWire.FromRpc(e) is { } runtime)
        {
            throw runtime;
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled)
        {
            throw new OperationCanceledException(e.Status.Detail, e);
        }
        catch (RpcException e)
        {
            throw new LabRuntimeException(lab ?? "-", null, Why(e), e);
        }
    }

    /// <summary>What a failed call means for the user, naming the host and what to do.</summary>
    private string Why(RpcException e) => e.StatusCode switch
    {
        _ when IsUntrustedCertificate(e) =>
            $"host '{_hostName}' presented a TLS certificate the controller does not trust; give the controller the CA that " +
            "issued the agents' certificates (LTB_AGENT_CA, docs/operations.md) or check the agent's --cert",
        StatusCode.Unavailable => $"host '{_hostName}' does not answer ({e.Status.Detail}); check that its agent runs",
        StatusCode.Unauthenticated => $"host '{_hostName}' refused the controller ({e.Status.Detail}); restart its agent so that it registers again",
        StatusCode.DeadlineExceeded => $"host '{_hostName}' did not answer in time",
        _ => $"host '{_hostName}' failed: {e.Status.Detail}",
    };

    /// <summary>The call failed in the TLS handshake: the agent's certificate did not validate against the trusted CA.</summary>
    private static bool IsUntrustedCertificate(RpcException e)
    {
        // grpc-dotnet reports it as Internal or Unavailable ("Error starting gRPC call. HttpRequestException: The SSL
        // connection could not be established ..."), with the AuthenticationException as the debug exception.
        if (e.Status.Detail.Contains("SSL connection could not be established", StringComparison.Ordinal))
        {
            return true;
        }
        for (var inner = e.Status.DebugException; inner is not null; inner = inner.InnerException)
        {
            if (inner is System.Security.Authentication.AuthenticationException)
            {
                return true;
            }
        }
        return false;
    }

    public void Dispose() => _channel.Dispose();
}
