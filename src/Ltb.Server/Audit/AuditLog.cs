using Ltb.Server.Auth;
using Ltb.Server.Data;

namespace Ltb.Server.Audit;

/// <summary>
/// Records who did what to which object. An entry is added to the same DbContext as the change it describes, so both
/// are saved together or not at all. Details never hold secrets (no passwords, no tokens).
/// </summary>
public sealed class AuditLog(LtbDbContext db, IHttpContextAccessor http)
{
    /// <summary>Adds an entry by the current caller; saved with the caller's next SaveChanges.</summary>
    public void Record(string action, string objectType, object? objectId, string? detail = null)
    {
        var context = http.HttpContext;
        var caller = context?.Features.Get<Caller>();
        Add(caller?.UserId, caller?.UserName ?? "", action, objectType, objectId, detail);
    }

    /// <summary>
    /// For actions before authentication (login) or outside a request (the SSH gateway): the actor is named explicitly,
    /// and so is the client's address where there is no request.
    /// </summary>
    public void RecordAs(Guid? actorId, string actorName, string action, string objectType, object? objectId, string? detail = null,
        string? remoteAddress = null) =>
        Add(actorId, actorName, action, objectType, objectId, detail, remoteAddress);

    private void Add(Guid? actorId, string actorName, string action, string objectType, object? objectId, string? detail,
        string? remoteAddress = null) =>
        db.AuditEntries.Add(new AuditEntry
        {
            At = DateTimeOffset.UtcNow,
            ActorId = actorId,
            ActorName = Truncate(actorName, 256),
            Action = action,
            ObjectType = objectType,
            ObjectId = objectId?.ToString(),
            Detail = Via(detail) is { } text ? Truncate(text, 2000) : null,
            RemoteAddress = remoteAddress ?? http.HttpContext?.Connection.RemoteIpAddress?.ToString(),
        });

    /// <summary>What a request through the SSH gateway records says so (the client's address alone would not tell).</summary>
    private string? Via(string? detail) => http.HttpContext?.Items.ContainsKey(GatewayAuthenticationHandler.ViaGateway) == true
        ? "via the SSH gateway" + (detail is null ? "" : ": " + detail)
        : detail;

    private static string Truncate(string s, int max) => s.Length <= max ? s : s[..max];
}

/// <summary>The audit actions, so that readers of the log (and tests) use one spelling.</summary>
public static class AuditActions
{
    public const string Login = "auth.login";
    public const string LoginFailed = "auth.login-failed";
    public const string Logout = "auth.logout";
    public const string PasswordChanged = "user.password-changed";
    public const string PasswordReset = "user.password-reset";
    public const string Created = "created";
    public const string Updated = "updated";
    public const string Deleted = "deleted";
    public const string MemberAdded = "member-added";
    public const string MemberRemoved = "member-removed";
    public const string TokenRevoked = "revoked";
}
