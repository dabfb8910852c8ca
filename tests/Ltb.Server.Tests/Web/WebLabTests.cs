using System.Text.Json;
using Ltb.Server.Tests.Infrastructure;
using Ltb.Server.Tests.Labs;
using Microsoft.Playwright;

namespace Ltb.Server.Tests.Web;

/// <summary>
/// Issue #18, the lab page in a real browser against a real deployed lab (two ltb/tiny nodes): the dashboard lists it,
/// the graph shows every node green once running, a console tab (xterm.js over the console WebSocket, opened with a
/// ticket the cookie session asked for) runs a command in the node, a node's CPU sparkline shows a real sample, two
/// consoles side by side in the split view each run their own, a node stopped from the page turns grey on the graph
/// without a reload (the event stream), and the lab is destroyed from the page.
/// </summary>
public sealed partial class WebLabTests(SqliteServer server, BrowserFixture browser) : IClassFixture<SqliteServer>, IClassFixture<BrowserFixture>
{
    private const string Green = "rgb(46,125,50)";

    /// <summary>Where the graph draws <paramref name="node"/>: in the page (to drag it) and in the graph's own coordinates.</summary>
    private static async Task<GraphPoint> WhereAsync(IPage page, string node)
    {
        var at = await page.EvaluateAsync<JsonElement>($"() => ltb.graph.where(document.querySelector('#lab-graph'), '{node}')");
        return new GraphPoint(at.GetProperty("pageX").GetSingle(), at.GetProperty("pageY").GetSingle(), at.GetProperty("x").GetInt32(),
            at.GetProperty("y").GetInt32());
    }

    private sealed record GraphPoint(float PageX, float PageY, int X, int Y);

    [Fact]
    public async Task A_student_watches_the_lab_live_types_in_a_console_stops_a_node_and_destroys_the_lab()
    {
        LabTestSupport.RequireDocker();
        server.Require();
        browser.Require();
        var student = await server.CreateUserAsync("uil");
        using var owner = await server.LoginAsync(student.UserName, ServerFixture.UserPassword);
        var name = ServerFixture.Unique("uilab");
        await using var lab = await ServerLab.RunAsync(owner, LabTestSupport.TinyLab(name));

        var page = await browser.NewPageAsync(server.BaseAddress);
        await BrowserFixture.SignInAsync(page, student.UserName, ServerFixture.UserPassword);
        await BrowserFixture.WaitInteractiveAsync(page);
        var row = page.GetByTestId("my-labs").GetByRole(AriaRole.Row).Filter(new() { HasText = name });
        await Assertions.Expect(row.Locator("[data-state]")).ToHaveAttributeAsync("data-state", "running");
        await BrowserFixture.ScreenshotAsync(page, "dashboard-light");

        await row.GetByRole(AriaRole.Link, new() { Name = "Open" }).ClickAsync();
        await page.WaitForURLAsync($"**/labs/{name}");
        var graph = page.Locator("#lab-graph");
        await page.WaitForFunctionAsync("() => { const s = document.querySelector('#lab-graph')?.dataset.states; " +
            "return !!s && Object.values(JSON.parse(s)).length === 2 && Object.values(JSON.parse(s)).every(x => x === 'running'); }");
        Assert.Equal(Green, await ColourAsync(page, "a"));
        Assert.Equal(Green, await ColourAsync(page, "b"));
        // The link between them is drawn with its interfaces.
        Assert.Equal(1, await page.EvaluateAsync<int>("() => document.querySelectorAll('#lab-graph canvas').length > 0 ? 1 : 0"));

        // Node a dragged with the mouse stays where it was put when the page is opened again (the layout is kept per lab).
        var before = await WhereAsync(page, "a");
        await page.Mouse.MoveAsync(before.PageX, before.PageY);
        await page.Mouse.DownAsync();
        await page.Mouse.MoveAsync(before.PageX + 60, before.PageY + 40, new() { Steps = 8 });
        await page.Mouse.UpAsync();
        var dragged = await WhereAsync(page, "a");
        // On screen (the graph's own units depend on the zoom its layout fitted: 60 px were 19 units at a zoom of 3).
        Assert.True(Math.Abs(dragged.PageX - before.PageX) > 30 && dragged.X != before.X, $"node a did not move: {before} -> {dragged}");
        await page.ReloadAsync();
        await page.WaitForFunctionAsync("() => !!document.querySelector('#lab-graph')?.dataset.states");
        var reopened = await WhereAsync(page, "a");
        Assert.Equal((dragged.X, dragged.Y), (reopened.X, reopened.Y));

        // A console of node a: what is typed runs in the node, and its output shows in the terminal.
        await page.GetByTestId("console-a").ClickAsync();
        var terminal = page.Locator("#console-a");
        await Assertions.Expect(terminal).ToHaveAttributeAsync("data-console", "open");
        await terminal.Locator(".xterm").ClickAsync();
        await page.Keyboard.TypeAsync("echo ui-$((6*7)) $(hostname)");
        await page.Keyboard.PressAsync("Enter");
        await Assertions.Expect(terminal.Locator(".xterm-rows")).ToContainTextAsync("ui-42 a", new() { Timeout = 20_000 });
        await BrowserFixture.ScreenshotAsync(page, "lab-light");

        // Node a's CPU sparkline with a real sample; then consoles of a and b side by side in the split view.
        await AssertUsageSparklineAsync(page, "a");
        await SplitViewAsync(page);

        // Stop b from the page: the graph follows the event stream (no reload).
        var nodeB = page.GetByTestId("node-list").GetByRole(AriaRole.Row).Filter(new() { HasText = "ltb/tiny" }).Filter(new() { Has = page.Locator("[data-node='b']") });
        await nodeB.GetByRole(AriaRole.Button, new() { Name = "Stop" }).ClickAsync();
        await page.WaitForFunctionAsync("() => JSON.parse(document.querySelector('#lab-graph').dataset.states).b !== 'running'",
            null, new() { Timeout = 60_000 });
        Assert.NotEqual(Green, await ColourAsync(page, "b"));
        Assert.Equal(Green, await ColourAsync(page, "a"));
        var states = JsonSerializer.Deserialize<Dictionary<string, string>>((await graph.GetAttributeAsync("data-states"))!)!;
        using var api = new LtbApiClient(owner);
        var status = await api.GetLabAsync(name, TestContext.Current.CancellationToken);
        Assert.Equal(status.Nodes.Single(n => n.Name == "b").State, states["b"]);

        // Destroy from the page (confirmed in the dialog): the API sees it go.
        // By keyboard: every action is reachable without a mouse.
        await page.GetByTestId("lab-destroy").FocusAsync();
        await page.Keyboard.PressAsync("Enter");
        await page.GetByRole(AriaRole.Dialog).GetByRole(AriaRole.Button, new() { Name = "Destroy" }).ClickAsync();
        await page.WaitForURLAsync(server.BaseAddress.ToString());
        var deadline = DateTime.UtcNow + LabTestSupport.TaskTimeout;
        while (true)
        {
            try
            {
                await api.GetLabAsync(name, TestContext.Current.CancellationToken);
            }
            catch (LtbApiException e) when (e.Status == 404)
            {
                break;
            }
            Assert.True(DateTime.UtcNow < deadline, $"{name} was not destroyed");
            await Task.Delay(500, TestContext.Current.CancellationToken);
        }
        await lab.AssertNoLeftoversAsync();
    }

    private static Task<string> ColourAsync(IPage page, string node) =>
        page.EvaluateAsync<string>($"() => ltb.graph.colour(document.querySelector('#lab-graph'), '{node}').replace(/ /g, '')");
}
