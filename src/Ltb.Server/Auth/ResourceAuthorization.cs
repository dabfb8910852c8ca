using Ltb.Server.Api;

namespace Ltb.Server.Auth;

/// <summary>What a caller wants to do with a resource.</summary>
public enum Operation
{
    Read,
    Create,
    Update,
    Delete,
    /// <summary>Add or remove members (groups), share (templates, labs: later).</summary>
    ManageMembers,
    /// <summary>Set another user's password (admin reset).</summary>
    ResetPassword,
    /// <summary>Deploy labs onto (hosts).</summary>
    PlaceLabs,
    /// <summary>Watch a node's console read-only (labs).</summary>
    WatchConsole,
    /// <summary>See resource use beyond one's own labs (hosts: every lab on them).</summary>
    ReadUsage,
}

/// <summary>
/// The one place where a resource's access rules live. Every endpoint of the resource goes through it:
/// <list type="bullet">
/// <item><see cref="Visible"/> narrows a query to what the caller may see; lists and single reads use it, so an object the
/// caller may not see does not exist for them (404, never 403: no probing of ids).</item>
/// <item><see cref="Allows"/> decides an operation on a visible object, or on the collection when it is null (Create);
/// a refusal is 403.</item>
/// </list>
/// Register an implementation with <c>services.AddResourceAuthorizer&lt;T, TAuthorizer&gt;()</c>.
/// </summary>
public interface IResourceAuthorizer<T>
    where T : class
{
    IQueryable<T> Visible(IQueryable<T> source, Caller caller);

    bool Allows(Caller caller, Operation operation, T? resource);
}

/// <summary>The outcome of looking up a resource for an operation: the resource, or the problem to answer with.</summary>
public readonly record struct Access<T>(T? Resource, ProblemHttpResult? Denied)
    where T : class;

/// <summary>The two decisions every endpoint answers with; endpoints declare them (Api/Authorized.cs) rather than call these.</summary>
public static class ResourceAuthorizerExtensions
{
    /// <summary>
    /// The same decision for an object already found among those the caller may see (null: not found or not visible):
    /// 404 when null, 403 when refused.
    /// </summary>
    public static Access<T> Check<T>(this IResourceAuthorizer<T> authorizer, T? visible, Caller caller, Operation operation, string what)
        where T : class
    {
        if (visible is null)
        {
            return new Access<T>(null, Problems.NotFound(what));
        }
        return authorizer.Allows(caller, operation, visible)
            ? new Access<T>(visible, null)
            : new Access<T>(null, Problems.Forbidden($"you may not {Describe(operation)} this {what}"));
    }

    /// <summary>A collection-level check (Create): null when allowed, else the 403 problem.</summary>
    public static ProblemHttpResult? Refuse<T>(this IResourceAuthorizer<T> authorizer, Caller caller, Operation operation, string what)
        where T : class =>
        authorizer.Allows(caller, operation, null) ? null : Problems.Forbidden($"you may not {Describe(operation)} {Article(what)} {what}");

    private static string Article(string what) => "aeiou".Contains(what[0], StringComparison.Ordinal) ? "an" : "a";

    private static string Describe(Operation operation) => operation switch
    {
        Operation.ManageMembers => "manage the members of",
        Operation.ResetPassword => "reset the password of",
        _ => operation.ToString().ToLowerInvariant(),
    };
}
