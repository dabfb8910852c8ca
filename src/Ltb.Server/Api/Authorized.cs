using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using Ltb.Server.Auth;
using Ltb.Server.Data;

namespace Ltb.Server.Api;

/// <summary>
/// What an endpoint checks before its handler runs, declared instead of written out in every handler:
/// <list type="bullet">
/// <item><c>[For(Operation.Update)] Authorized&lt;Group&gt; group</c>: the object the route value names (<see cref="RouteLookups"/>),
/// among those the caller may see, checked for the operation (404 when unseen, 403 when refused);</item>
/// <item><c>[Requires&lt;Group&gt;(Operation.Create)]</c> on the handler: an operation on the collection (403 when refused);</item>
/// <item><c>[AsParameters] PageQuery paging</c>: the page numbers (400 when out of range).</item>
/// </list>
/// <see cref="Filter"/> (on every API endpoint, <c>ServerSetup.MapLtbApi</c>) answers the first refusal: the handler's
/// requirements, then its parameters in the order they are declared, so a handler states which check comes first.
/// </summary>
public static class Prologue
{
    public static EndpointFilterDelegate Filter(EndpointFilterFactoryContext context, EndpointFilterDelegate next)
    {
        var requirements = context.MethodInfo.GetCustomAttributes().OfType<IRequirement>().ToArray();
        var parameters = context.MethodInfo.GetParameters();
        foreach (var p in parameters.Where(p => IsAuthorized(p.ParameterType) && p.GetCustomAttribute<ForAttribute>() is null))
        {
            throw new InvalidOperationException($"{context.MethodInfo.DeclaringType?.Name}.{context.MethodInfo.Name}: " +
                $"parameter '{p.Name}' needs [For(Operation.X)]");
        }
        var checks = parameters.Where(p => typeof(IPrologue).IsAssignableFrom(p.ParameterType)).Select(p => p.Position).ToArray();
        if (requirements.Length == 0 && checks.Length == 0)
        {
            return next;
        }
        return async invocation =>
        {
            foreach (var requirement in requirements)
            {
                if (requirement.Refusal(invocation.HttpContext) is { } refused)
                {
                    return refused;
                }
            }
            foreach (var position in checks)
            {
                if (invocation.Arguments[position] is IPrologue { Refusal: { } refused })
                {
                    return refused;
                }
            }
            return await next(invocation);
        };
    }

    internal static Caller CallerOf(HttpContext http) =>
        http.Features.Get<Caller>() ?? throw new InvalidOperationException("an access check on an endpoint that allows anonymous callers");

    private static bool IsAuthorized(Type type) => type.IsGenericType && type.GetGenericTypeDefinition() == typeof(Authorized<>);
}

/// <summary>A value bound before the handler whose refusal, if any, <see cref="Prologue.Filter"/> answers instead of the handler.</summary>
public interface IPrologue
{
    IResult? Refusal { get; }
}

/// <summary>The operation an <see cref="Authorized{T}"/> parameter is checked for.</summary>
[AttributeUsage(AttributeTargets.Parameter)]
public sealed class ForAttribute(Operation operation) : Attribute
{
    public Operation Operation { get; } = operation;
}

/// <summary>The object the route names, visible to the caller and checked for the operation of its <see cref="ForAttribute"/>.</summary>
public sealed class Authorized<T> : IPrologue
    where T : class
{
    private readonly T? _value;

    private Authorized(Access<T> access)
    {
        _value = access.Resource;
        Refusal = access.Denied;
    }

    /// <summary>The object (tracked by the request's <see cref="LtbDbContext"/>: a handler changes it and saves).</summary>
    public T Value => _value ?? throw new InvalidOperationException(
        $"Authorized<{typeof(T).Name}> was refused: the endpoint is outside the API group, whose filter answers refusals");

    public IResult? Refusal { get; }

    [SuppressMessage("Design", "CA1000:Do not declare static members on generic types",
        Justification = "minimal APIs bind a parameter through a static BindAsync on its type")]
    public static async ValueTask<Authorized<T>?> BindAsync(HttpContext http, ParameterInfo parameter)
    {
        var operation = parameter.GetCustomAttribute<ForAttribute>()?.Operation
            ?? throw new InvalidOperationException($"parameter '{parameter.Name}' needs [For(Operation.X)]");
        var key = RouteLookups.For<T>().RouteKey ?? throw new InvalidOperationException($"{typeof(T).Name} has no route key");
        var value = http.GetRouteValue(key)?.ToString()
            ?? throw new InvalidOperationException($"parameter '{parameter.Name}': the route has no {{{key}}}");
        var services = http.RequestServices;
        var access = await services.GetRequiredService<IResourceAuthorizer<T>>().FindAsync(services.GetRequiredService<LtbDbContext>(),
            Prologue.CallerOf(http), value, operation, http.RequestAborted);
        return new Authorized<T>(access);
    }
}

/// <summary>An operation on a collection (Create, or Read of one only admins list) the handler needs; checked first.</summary>
public interface IRequirement
{
    IResult? Refusal(HttpContext http);
}

/// <summary>The caller must be allowed <see cref="Operation"/> on the collection of <typeparamref name="T"/>.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class RequiresAttribute<T>(Operation operation) : Attribute, IRequirement
    where T : class
{
    public Operation Operation { get; } = operation;

    public IResult? Refusal(HttpContext http) => http.RequestServices.GetRequiredService<IResourceAuthorizer<T>>()
        .Refuse(Prologue.CallerOf(http), Operation, RouteLookups.For<T>().What);
}
