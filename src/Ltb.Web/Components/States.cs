namespace Ltb.Web.Components;

/// <summary>
/// State colours, the same in lists, badges and the graph (client/src/graph.js has the same table): running green,
/// starting/deploying blue, stopped grey, failed red, removing amber.
/// </summary>
public static class States
{
    public static MudBlazor.Color Colour(string state) => Kind(state) switch
    {
        StateKind.Running => MudBlazor.Color.Success,
        StateKind.Starting => MudBlazor.Color.Info,
        StateKind.Failed => MudBlazor.Color.Error,
        StateKind.Removing => MudBlazor.Color.Warning,
        _ => MudBlazor.Color.Default,
    };

    public static string Icon(string state) => Kind(state) switch
    {
        StateKind.Running => MudBlazor.Icons.Material.Filled.CheckCircle,
        StateKind.Starting => MudBlazor.Icons.Material.Filled.HourglassTop,
        StateKind.Failed => MudBlazor.Icons.Material.Filled.Error,
        StateKind.Removing => MudBlazor.Icons.Material.Filled.DeleteSweep,
        _ => MudBlazor.Icons.Material.Filled.StopCircle,
    };

    public static StateKind Kind(string state) => state.ToLowerInvariant() switch
    {
        "running" or "up" or "ready" or "succeeded" => StateKind.Running,
        "pending" or "deploying" or "created" or "starting" or "queued" => StateKind.Starting,
        "failed" or "missing" or "unreachable" => StateKind.Failed,
        "destroying" or "removing" or "draining" => StateKind.Removing,
        _ => StateKind.Stopped,
    };
}

public enum StateKind { Running, Starting, Stopped, Failed, Removing }
