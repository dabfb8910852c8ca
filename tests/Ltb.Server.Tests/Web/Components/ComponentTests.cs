using System.Security.Claims;
using Bunit;
using Ltb.Web;
using Ltb.Web.Components;
using Ltb.Web.Services;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor;
using MudBlazor.Services;

namespace Ltb.Server.Tests.Web.Components;

/// <summary>
/// The web UI's components with logic rendered by bUnit (no browser, no server): the booking form's own checks at their
/// fields and its confirm gate, the link list's actions by state, a lab's tasks with their progress. The same components
/// against a real server and browser: WebStudentTests.
/// </summary>
public sealed class ComponentTests : BunitContext
{
    public ComponentTests()
    {
        JSInterop.Mode = JSRuntimeMode.Loose;
        Services.AddMudServices();
        Services.AddSingleton<AuthenticationStateProvider>(new SignedIn());
        Services.AddSingleton<IServer>(new NoServer());
        Services.AddSingleton<LoopbackApi>();
        Services.AddScoped<UiSession>();
        Render<MudPopoverProvider>();
    }

    [Fact]
    public void The_booking_form_shows_its_own_problems_at_their_fields_and_cannot_confirm_unchecked()
    {
        var draft = new ReservationDraft { Name = "", StartText = "2027-03-02T10:00", EndText = "2027-03-02T09:00" };
        var form = Render<ReservationForm>(p => p.Add(f => f.Draft, draft).Add(f => f.Templates, []).Add(f => f.Groups, []));
        Assert.True(form.Find("[data-testid=reservation-confirm]").HasAttribute("disabled"));

        form.Find("[data-testid=reservation-check]").Click();
        var text = form.Markup;
        Assert.Contains("choose the template to book", text, StringComparison.Ordinal);
        Assert.Contains("is after the start", text, StringComparison.Ordinal);
        Assert.Contains("it names the labs", text, StringComparison.Ordinal);
        Assert.Empty(form.FindAll("[data-testid=reservation-answer]")); // nothing was asked of the server
        Assert.True(form.Find("[data-testid=reservation-confirm]").HasAttribute("disabled"));
        // A group booking asks for the group.
        draft.Audience = "members";
        form.Render();
        Assert.NotEmpty(form.FindAll("[data-testid=reservation-group]"));
    }

    [Fact]
    public void The_link_list_offers_down_for_an_up_link_up_for_a_down_link_and_capture_while_running()
    {
        var lab = Lab("running", new LabLinkDto("r1:eth1", "r2:eth1", "up", "veth", "k1"), new LabLinkDto("r1:eth2", "r3:eth1", "down", "veth", "k2"));
        var list = Render<LinkList>(p => p.Add(l => l.Lab, lab));
        Assert.False(Button(list, "Take the link at r1:eth1 down").HasAttribute("disabled"));
        Assert.True(Button(list, "Bring the link at r1:eth1 up").HasAttribute("disabled"));
        Assert.True(Button(list, "Take the link at r1:eth2 down").HasAttribute("disabled"));
        Assert.False(Button(list, "Bring the link at r1:eth2 up").HasAttribute("disabled"));
        Assert.False(Button(list, "Capture at r1:eth1").HasAttribute("disabled"));

        string? captured = null;
        list = Render<LinkList>(p => p.Add(l => l.Lab, lab).Add(l => l.OnCapture, (string e) => captured = e));
        Button(list, "Capture at r1:eth2").Click();
        Assert.Equal("r1:eth2", captured);
        var stopped = Render<LinkList>(p => p.Add(l => l.Lab, Lab("stopped", lab.Links.ToArray())));
        Assert.True(Button(stopped, "Capture at r1:eth1").HasAttribute("disabled"));
    }

    [Fact]
    public void A_running_task_shows_progress_and_a_failed_one_its_error()
    {
        var now = DateTimeOffset.UtcNow;
        var tasks = Render<LabTasks>(p => p.Add(t => t.Tasks, [
            new LabTaskDto(Guid.NewGuid(), Guid.NewGuid(), "snapshot", "running", "router1 2/3", [], null, now, now, null),
            new LabTaskDto(Guid.NewGuid(), Guid.NewGuid(), "deploy", "failed", null, ["pulling"], "image not found", now, now, now),
        ]));
        var running = tasks.Find("[data-task=snapshot]");
        Assert.Contains("router1 2/3", running.TextContent, StringComparison.Ordinal);
        Assert.NotNull(running.QuerySelector(".mud-progress-linear"));
        var failed = tasks.Find("[data-task=deploy]");
        Assert.Contains("image not found", failed.TextContent, StringComparison.Ordinal);
        Assert.Null(failed.QuerySelector(".mud-progress-linear"));
        Assert.Equal("failed", failed.GetAttribute("data-task-state"));
    }

    private static AngleSharp.Dom.IElement Button(IRenderedComponent<LinkList> list, string label) =>
        list.Find($"button[aria-label='{label}']");

    private static LabDto Lab(string state, params LabLinkDto[] links) => new(Guid.NewGuid(), "lab1", state, "me", null, "lab1", "lab1.yml", null,
        DateTimeOffset.UtcNow, DateTimeOffset.UtcNow, [], links, [], 1);

    private sealed class SignedIn : AuthenticationStateProvider
    {
        public override Task<AuthenticationState> GetAuthenticationStateAsync() => Task.FromResult(new AuthenticationState(
            new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, "student"), new Claim(WebConventions.TokenClaim, "ltb_test")], "test"))));
    }

    /// <summary>A server with an address nobody listens on: these tests render what the form decides without the API.</summary>
    private sealed class NoServer : IServer
    {
        public NoServer()
        {
            var addresses = new ServerAddressesFeature();
            addresses.Addresses.Add("http://127.0.0.1:9");
            Features.Set<IServerAddressesFeature>(addresses);
        }

        public IFeatureCollection Features { get; } = new FeatureCollection();

        public Task StartAsync<TContext>(Microsoft.AspNetCore.Hosting.Server.IHttpApplication<TContext> application, CancellationToken cancellationToken)
            where TContext : notnull => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public void Dispose()
        {
        }
    }
}
