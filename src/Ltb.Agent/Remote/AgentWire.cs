using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Ltb.Runtime.Capture;
using Ltb.Runtime.Status;

namespace Ltb.Agent.Remote;

/// <summary>
/// Conversions between the runtime's records and the gRPC messages, shared by both ends so that they cannot disagree.
/// Errors: a <see cref="LabRuntimeException"/> travels as FAILED_PRECONDITION with an <see cref="Grpc.AgentError"/> in
/// the <see cref="ErrorTrailer"/> trailer and becomes the same exception again on the controller.
/// </summary>
public static class AgentWire
{
    public const string ErrorTrailer = "ltb-error-bin";
    private const string CaptureFilterKind = "capture-filter";
    /// <summary>Lab files travel inside the deploy call (the lab folder is at most 64 MiB, plus the plan).</summary>
    public const int MaxMessageBytes = 96 << 20;

    public static readonly JsonSerializerOptions Json = JsonSerializerOptions.Web;

    public static string ToJson<T>(T value) => JsonSerializer.Serialize(value, Json);

    public static T FromJson<T>(string json) =>
        JsonSerializer.Deserialize<T>(json, Json) ?? throw new InvalidDataException($"the agent sent an empty {typeof(T).Name}");

    public static Grpc.RuntimeEvent ToMessage(RuntimeEvent e)
    {
        var m = new Grpc.RuntimeEvent
        {
            Time = Timestamp.FromDateTimeOffset(e.Time), Lab = e.Lab, Kind = (Grpc.EventKind)(int)e.Kind, Message = e.Message,
        };
        if (e.Node is not null)
        {
            m.Node = e.Node;
        }
        return m;
    }

    public static RuntimeEvent FromMessage(Grpc.RuntimeEvent m) =>
        new(m.Time.ToDateTimeOffset(), m.Lab, m.HasNode ? m.Node : null, (RuntimeEventKind)(int)m.Kind, m.Message);

    /// <summary>The RpcException an agent throws for a runtime failure (what the user must see).</summary>
    public static RpcException ToRpc(LabRuntimeException e)
    {
        var error = new Grpc.AgentError { Lab = e.Lab, Cause = e.Cause };
        if (e.Node is not null)
        {
            error.Node = e.Node;
        }
        if (e.Status is not null)
        {
            error.StatusJson = ToJson(e.Status);
        }
        if (e is InvalidCaptureFilterException)
        {
            error.Kind = CaptureFilterKind;
        }
        var trailers = new Metadata { { ErrorTrailer, error.ToByteArray() } };
        return new RpcException(new Status(StatusCode.FailedPrecondition, e.Message), trailers);
    }

    /// <summary>The runtime failure an RpcException carries, or null when it is another failure (transport, auth).</summary>
    public static LabRuntimeException? FromRpc(RpcException e)
    {
        if (e.StatusCode != StatusCode.FailedPrecondition || e.Trailers.GetValueBytes(ErrorTrailer) is not { } bytes)
        {
            return null;
        }
        var error = Grpc.AgentError.Parser.ParseFrom(bytes);
        if (error.Kind == CaptureFilterKind)
        {
            return new InvalidCaptureFilterException(error.Lab, error.Node, error.Cause);
        }
        return new LabRuntimeException(error.Lab, error.HasNode ? error.Node : null, error.Cause)
        {
            Status = error.HasStatusJson ? FromJson<LabStatus>(error.StatusJson) : null,
        };
    }
}
