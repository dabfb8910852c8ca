using Ltb.Server.Tests.Infrastructure;
using Ltb.Server.Tests.Templates;
using Microsoft.Playwright;

namespace Ltb.Server.Tests.Web;

public sealed partial class WebShellTests
{
    /// <summary>A link to a node that does not exist, on line 6.</summary>
    private const string Broken = """
        name: broken
        topology:
          nodes:
            r1: {kind: linux, image: "ltb/tiny:latest"}
          links:
            - endpoints: ["r1:eth1", "r9:eth1"]

        """;

    [Fact]
    public async Task The_editor_shows_the_servers_diagnostic_at_its_line_and_column()
    {
        server.Require();
        browser.Require();
        var student = await server.CreateUserAsync("uie");
        var page = await browser.NewPageAsync(server.BaseAddress);
        await BrowserFixture.SignInAsync(page, student.UserName, ServerFixture.UserPassword);
        await BrowserFixture.WaitInteractiveAsync(page);
        await page.GetByRole(AriaRole.Link, new() { Name = "Topology editor" }).ClickAsync();
        // The sample validates, and its graph is previewed beside it (nodes only on paper).
        await Assertions.Expect(page.GetByTestId("valid")).ToContainTextAsync("my-lab is valid");
        await Assertions.Expect(page.Locator("#preview-graph")).ToHaveAttributeAsync("data-states", "{\"pc1\":\"defined\",\"pc2\":\"defined\"}");

        // What the server says of the broken text (the API directly), then the same in the editor.
        using var api = server.Api(await server.LoginTokenAsync(student.UserName, ServerFixture.UserPassword));
        var expected = await api.ValidateTopologyAsync(new ValidateTopologyRequest(Broken), TestContext.Current.CancellationToken);
        Assert.False(expected.Valid);
        var error = Assert.Single(expected.Diagnostics, d => d.Severity == "error");
        Assert.Equal(6, error.Line);
        Assert.Contains("r9", error.Message, StringComparison.Ordinal);

        await page.EvaluateAsync("text => ltb.editor.setText(document.querySelector('#topology-editor'), text)", Broken);
        var listed = page.Locator($".ltb-diagnostic[data-line='6'][data-column='{error.Column}']");
        await Assertions.Expect(listed).ToContainTextAsync("r9");
        // The squiggle is on line 6 and starts at the column the server named.
        var squiggle = page.Locator("#topology-editor .cm-line").Nth(5).Locator(".cm-lintRange-error");
        await Assertions.Expect(squiggle).ToHaveCountAsync(1);
        var before = await page.EvaluateAsync<int>("""
            () => {
              const line = document.querySelectorAll('#topology-editor .cm-line')[5];
              const range = document.createRange();
              range.setStart(line, 0);
              range.setEndBefore(line.querySelector('.cm-lintRange-error'));
              return range.toString().length;
            }
            """);
        Assert.Equal(error.Column - 1, before);
        await Assertions.Expect(page.GetByRole(AriaRole.Button, new() { Name = "Deploy" })).ToBeDisabledAsync();
        await Assertions.Expect(page.Locator("#preview-graph")).ToHaveCountAsync(0); // no preview of what would not deploy
        await BrowserFixture.ScreenshotAsync(page, "editor-diagnostic");
    }

    /// <summary>A node binding a file of its folder: valid only where that file exists.</summary>
    private const string WithBind = """
        name: bound
        topology:
          nodes:
            r1: {kind: linux, image: "ltb/tiny:latest", binds: ["cfg/motd:/etc/motd"]}

        """;

    [Fact]
    public async Task Validation_resolves_relative_paths_in_a_templates_files_for_those_who_may_read_it()
    {
        server.Require();
        var ct = TestContext.Current.CancellationToken;
        var owner = await server.CreateUserAsync("uiv", "instructor"); // students create no templates
        var stranger = await server.CreateUserAsync("uivs");
        using var ownerHttp = await server.LoginAsync(owner.UserName, ServerFixture.UserPassword);
        using var content = TemplateTestSupport.Upload(WithBind, name: ServerFixture.Unique("uibind"), visibility: "private",
            files: new Dictionary<string, byte[]> { ["cfg/motd"] = "hello"u8.ToArray() });
        var template = await Http.ReadAsync<TemplateDto>(await ownerHttp.PostAsync("/api/v1/templates", content, ct), 201);
        using var api = server.Api(await server.LoginTokenAsync(owner.UserName, ServerFixture.UserPassword));

        var alone = await api.ValidateTopologyAsync(new ValidateTopologyRequest(WithBind), ct);
        Assert.False(alone.Valid);
        Assert.Contains(alone.Diagnostics, d => d.Message.Contains("cfg/motd", StringComparison.Ordinal) && d.Line == 4);
        var withFiles = await api.ValidateTopologyAsync(new ValidateTopologyRequest(WithBind, Template: template.Id), ct);
        Assert.True(withFiles.Valid, string.Join("; ", withFiles.Diagnostics.Select(d => d.Message)));
        Assert.Equal("r1", withFiles.Model!.Value.GetProperty("nodes")[0].GetProperty("name").GetString());
        // A folder not uploaded yet (the editor's opened folder) names its files' paths instead; never both, never outside it.
        var named = await api.ValidateTopologyAsync(new ValidateTopologyRequest(WithBind, Files: ["cfg/motd"]), ct);
        Assert.True(named.Valid, string.Join("; ", named.Diagnostics.Select(d => d.Message)));
        var outside = await Assert.ThrowsAsync<LtbApiException>(() => api.ValidateTopologyAsync(new ValidateTopologyRequest(WithBind, Files: ["../cfg/motd"]), ct));
        Assert.Equal(400, outside.Status);
        Assert.Contains("'..'", outside.Message, StringComparison.Ordinal);
        var both = await Assert.ThrowsAsync<LtbApiException>(() => api.ValidateTopologyAsync(
            new ValidateTopologyRequest(WithBind, Template: template.Id, Files: ["cfg/motd"]), ct));
        Assert.Equal(400, both.Status);
        // The scratch folders are gone after the calls.
        Assert.DoesNotContain(Directory.GetDirectories(server.DataDirectory, "validate-*"), d => !d.EndsWith("validate-empty", StringComparison.Ordinal));

        using var other = server.Api(await server.LoginTokenAsync(stranger.UserName, ServerFixture.UserPassword));
        var refused = await Assert.ThrowsAsync<LtbApiException>(() => other.ValidateTopologyAsync(new ValidateTopologyRequest(WithBind, Template: template.Id), ct));
        Assert.Equal(404, refused.Status);
    }
}
