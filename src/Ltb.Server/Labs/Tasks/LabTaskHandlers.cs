using Ltb.Server.Data;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Ltb.Server.Labs.Tasks;

/// <summary>The registered handlers, found by task kind (one per kind).</summary>
public sealed class LabTaskHandlers
{
    private readonly Dictionary<LabTaskKind, ILabTaskHandler> _byKind = [];

    public LabTaskHandlers(IEnumerable<ILabTaskHandler> handlers)
    {
        foreach (var handler in handlers)
        {
            // The last registration of a kind wins, so a test (or a later issue) can replace a handler.
            _byKind[handler.Kind] = handler;
        }
    }

    /// <summary>The handler of a kind, or null when this server has none (a task written by a newer server).</summary>
    public ILabTaskHandler? For(LabTaskKind kind) => _byKind.GetValueOrDefault(kind);
}

public static class LabTaskServices
{
    /// <summary>
    /// The task handlers of this server, the runner and its job: where a new task kind is registered (one line).
    /// </summary>
    public static IServiceCollection AddLabTaskHandlers(this IServiceCollection services)
    {
        services.AddScoped<LabJournal>();
        services.AddScoped<ILabTaskHandler, DeploymentTaskHandler>();
        services.AddScoped<ILabTaskHandler, RemovalTaskHandler>();
        services.AddScoped<ILabTaskHandler, MirrorInterfaceTaskHandler>();
        services.AddScoped<ILabTaskHandler, SnapshotTaskHandler>();
        services.TryAddScoped<LabTaskHandlers>();
        services.AddScoped<LabTaskJob>();
        services.AddScoped<LabTaskRunner>();
        return services;
    }
}
