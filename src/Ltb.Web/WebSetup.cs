using Ltb.Web.Services;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor.Services;

namespace Ltb.Web;

/// <summary>The UI's services and endpoints; Ltb.Server's ServerSetup calls these (docs/architecture.md, "Web UI").</summary>
public static class WebSetup
{
    /// <param name="singleSignOnName">The OpenID Connect provider's name for the sign-in page's button; null: none configured.</param>
    public static IServiceCollection AddLtbWeb(this IServiceCollection services, string? singleSignOnName = null)
    {
        services.AddSingleton(new SignInChoices(singleSignOnName));
        services.AddRazorComponents().AddInteractiveServerComponents(o =>
        {
            // Bounds per circuit: a browser that sends megabytes or leaves circuits behind is cut off, not buffered.
            o.DisconnectedCircuitMaxRetained = 200;
            o.DisconnectedCircuitRetentionPeriod = TimeSpan.FromMinutes(3);
        });
        services.AddCascadingAuthenticationState();
        // Messages at the bottom: the top bar and the pages' action buttons stay reachable while one shows.
        services.AddMudServices(o => o.SnackbarConfiguration.PositionClass = MudBlazor.Defaults.Classes.Position.BottomRight);
        services.AddSingleton<LoopbackApi>();
        services.AddScoped<UiSession>();
        services.AddScoped<TopologyDraft>();
        return services;
    }

    /// <summary>How the sign-in page offers to sign in: always the password form; a provider's button when one is configured.</summary>
    public sealed record SignInChoices(string? SingleSignOnName);

    /// <summary>The pages under / (the hub at /_blazor); each page declares its own [Authorize].</summary>
    public static RazorComponentsEndpointConventionBuilder MapLtbWeb(this IEndpointRouteBuilder app) =>
        app.MapRazorComponents<App>().AddInteractiveServerRenderMode();
}
