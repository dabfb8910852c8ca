using System.Security.Cryptography;
using System.Text;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Ltb.Agent.Remote;

/// <summary>
/// The secret only this agent's controller knows: handed to the agent in the answer to its registration, presented by
/// the controller as `authorization: Bearer SECRET` on every call. Until the agent is registered it accepts no call.
/// </summary>
public sealed class ControllerCredential
{
    private volatile byte[]? _secret;

    public bool IsSet => _secret is not null;

    public void Set(string secret) => _secret = Encoding.UTF8.GetBytes(secret);

    public bool Accepts(string? authorization)
    {
        var secret = _secret;
        if (secret is null || authorization is null || !authorization.StartsWith("Bearer ", StringComparison.Ordinal))
        {
            return false;
        }
        return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(authorization["Bearer ".Length..]), secret);
    }
}

/// <summary>Refuses every call that does not carry the controller's secret, before any handler runs.</summary>
public sealed class ControllerOnlyInterceptor(ControllerCredential credential) : Interceptor
{
    public const string Refusal = "this agent takes commands only from the controller it registered with";

    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context,
        UnaryServerMethod<TRequest, TResponse> continuation)
    {
        Check(context);
        return continuation(request, context);
    }

    public override Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Check(context);
        return continuation(request, responseStream, context);
    }

    public override Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Check(context);
        return continuation(requestStream, context);
    }

    public override Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Check(context);
        return continuation(requestStream, responseStream, context);
    }

    private void Check(ServerCallContext context)
    {
        if (!credential.Accepts(context.RequestHeaders.GetValue("authorization")))
        {
            throw new RpcException(new Status(StatusCode.Unauthenticated, Refusal));
        }
    }
}
