using System.Collections.Concurrent;
using Ltb.Server.Tests.Infrastructure;
using Ltb.Server.Tests.Labs;
using Ltb.Web;
using Microsoft.Playwright;

namespace Ltb.Server.Tests.Web;

/// <summary>
/// The UI's security headers (Ltb.Web's SecurityHeaders): the Content-Security-Policy and its companions are on the UI's
/// answers and not on the API's, and under that policy chromium refuses nothing while the pages do their work: Blazor's
/// circuit and a console over WebSockets ('self' covers ws: of the same origin), the cytoscape graph, the CodeMirror editor.
/// </summary>
public sealed class WebSecurityTests(SqliteServer server, BrowserFixture browser) : IClassFixture<SqliteServer>, IClassFixture<BrowserFixture>
{
    [Theory]
    [InlineData("/signin")]
    [InlineData("/")]
    [InlineData("/ui/ltb.js")]
    [InlineData("/_framework/blazor.web.js")]
    public async Task The_UIs_answers_carry_the_policy_and_the_usual_headers(string path)
    {
        server.Require();
        using var anonymous = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = server.BaseAddress };
        using var answer = await anonymous.GetAsync(path, TestContext.Current.CancellationToken);
        Assert.Equal(SecurityHeaders.ContentSecurityPolicy, Header(answer, "Content-Security-Policy"));
        Assert.Contains("frame-ancestors 'none'", Header(answer, "Content-Security-Policy"), StringComparison.Ordinal);
        Assert.Equal("DENY", Header(answer, "X-Frame-Options"));
        Assert.Equal("nosniff", Header(answer, "X-Content-Type-Options"));
        Assert.Equal("strict-origin-when-cross-origin", Header(answer, "Referrer-Policy"));
    }

    [Fact]
    public async Task The_APIs_answers_say_nosniff_but_carry_no_page_policy()
    {
        server.Require();
        using var answer = await server.Admin.GetAsync("/api/v1/hosts", TestContext.Current.CancellationToken);
        Assert.Equal(200, (int)answer.StatusCode);
        Assert.Equal("nosniff", Header(answer, "X-Content-Type-Options"));
        Assert.Null(Header(answer, "Content-Security-Policy"));
    }

    [Fact]
    public async Task Under_the_policy_the_console_graph_and_editor_work_and_nothing_is_refused()
    {
        LabTestSupport.RequireDocker();
        server.Require();
        browser.Require();
        var student = await server.CreateUserAsync("uicsp");
        using var owner = await server.LoginAsync(student.UserName, ServerFixture.UserPassword);
        var name = ServerFixture.Unique("uicsp");
        await using var lab = await ServerLab.RunAsync(owner, LabTestSupport.TinyLab(name));

        var page = await browser.NewPageAsync(server.BaseAddress);
        var sockets = new ConcurrentQueue<string>();
        page.WebSocket += (_, socket) => sockets.Enqueue(socket.Url);
        await BrowserFixture.SignInAsync(page, student.UserName, ServerFixture.UserPassword);
        await BrowserFixture.WaitInteractiveAsync(page);

        // The graph (cytoscape draws on canvases) with both nodes running, and a console that runs a command.
        await page.GotoAsync($"/labs/{name}");
        await BrowserFixture.WaitInteractiveAsync(page);
        await page.WaitForFunctionAsync("() => { const s = document.querySelector('#lab-graph')?.dataset.states; " +
            "return !!s && Object.values(JSON.parse(s)).length === 2 && Object.values(JSON.parse(s)).every(x => x === 'running'); }");
        Assert.True(await page.EvaluateAsync<bool>("() => document.querySelectorAll('#lab-graph canvas').length > 0"));
        await page.GetByTestId("console-a").ClickAsync();
        var terminal = page.Locator("#console-a");
        await Assertions.Expect(terminal).ToHaveAttributeAsync("data-console", "open");
        await terminal.Locator(".xterm").ClickAsync();
        await page.Keyboard.TypeAsync("echo csp-$((6*7))");
        await page.Keyboard.PressAsync("Enter");
        await Assertions.Expect(terminal.Locator(".xterm-rows")).ToContainTextAsync("csp-42", new() { Timeout = 20_000 });

        // The editor (CodeMirror inserts its styles at run time) validates through the server.
        await page.GotoAsync("/templates/editor");
        await BrowserFixture.WaitInteractiveAsync(page);
        await Assertions.Expect(page.GetByTestId("valid")).ToContainTextAsync("my-lab is valid");

        var origin = "ws://" + server.BaseAddress.Authority;
        Assert.Contains(sockets, u => u.StartsWith(origin + "/_blazor", StringComparison.Ordinal));
        Assert.Contains(sockets, u => u.StartsWith(origin + "/api/", StringComparison.Ordinal));
        Assert.Empty(BrowserFixture.CspViolations(page));
        await page.Context.CloseAsync();
    }

    private static string? Header(HttpResponseMessage answer, string name) =>
        answer.Headers.TryGetValues(name, out var values) || answer.Content.Headers.TryGetValues(name, out values)
            ? string.Join(", ", values) : null;
}
