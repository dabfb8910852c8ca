using System.Text.RegularExpressions;
using Ltb.Server.Tests.Infrastructure;
using Ltb.Server.Tests.Labs;
using Ltb.Testing;
using Microsoft.Playwright;

namespace Ltb.Server.Tests.Web;

/// <summary>
/// Issue #18's done-when in a real browser against a real server and real FRR routers: a student opens frr01 (the corpus
/// folder, as a folder picker gives it) in the editor, sees a broken version's error at its line, deploys it, waits
/// for every node on the graph to be green, runs vtysh in router1's console and sees two OSPF neighbours, captures a link
/// and sees OSPF rows (display filter, pause, pcapng download), takes the link down and up, reads device information,
/// takes a snapshot and destroys the lab.
/// </summary>
public sealed partial class WebStudentTests(SqliteServer server, BrowserFixture browser) : IClassFixture<SqliteServer>, IClassFixture<BrowserFixture>
{
    private static readonly TimeSpan Slow = TimeSpan.FromMinutes(3);

    [GeneratedRegex(@"Full/")]
    private static partial Regex FullNeighbour();

    [Fact]
    public async Task A_student_uploads_frr01_deploys_it_and_works_in_the_lab_page()
    {
        LabTestSupport.RequireDocker();
        Prerequisite.Require(HostCommand.Exists("tshark"), "tshark on the host (decoded captures)");
        server.Require();
        browser.Require();
        var ct = TestContext.Current.CancellationToken;
        var student = await server.CreateUserAsync("uis");
        var name = ServerFixture.Unique("uifrr");
        var folder = CopyFrr01();
        try
        {
            var page = await browser.NewPageAsync(server.BaseAddress);
            await BrowserFixture.SignInAsync(page, student.UserName, ServerFixture.UserPassword);
            await BrowserFixture.WaitInteractiveAsync(page);

            // Open the folder in the editor (students publish no templates: that button is not theirs).
            await PickFolderAsync(page, folder);
            await Assertions.Expect(page.GetByTestId("template-upload-button")).ToHaveCountAsync(0);
            await page.GetByTestId("folder-edit-button").ClickAsync();
            await page.WaitForURLAsync("**/templates/editor?folder=true");
            await Assertions.Expect(page.GetByTestId("editing-folder")).ToContainTextAsync("frr01.clab.yml");

            // It validates with the folder's files; a link to a router that does not exist is an error at that link's line.
            await Assertions.Expect(page.GetByTestId("valid")).ToContainTextAsync("frr01 is valid");
            var yaml = await page.EvaluateAsync<string>("() => ltb.editor.text(document.querySelector('#topology-editor'))");
            var broken = yaml.Replace("\"router2:eth2\", \"router3:eth2\"", "\"router2:eth2\", \"router9:eth2\"", StringComparison.Ordinal);
            Assert.NotEqual(yaml, broken);
            var line = broken.Split('\n').ToList().FindIndex(l => l.Contains("router9", StringComparison.Ordinal)) + 1;
            await page.EvaluateAsync("text => ltb.editor.setText(document.querySelector('#topology-editor'), text)", broken);
            await Assertions.Expect(page.Locator($".ltb-diagnostic[data-line='{line}']")).ToContainTextAsync("router9");
            await Assertions.Expect(page.Locator("#topology-editor .cm-line").Nth(line - 1).Locator(".cm-lintRange-error")).ToHaveCountAsync(1);
            await page.EvaluateAsync("text => ltb.editor.setText(document.querySelector('#topology-editor'), text)", yaml);
            await Assertions.Expect(page.GetByTestId("valid")).ToContainTextAsync("frr01 is valid");

            // Deploy it from the editor (the folder's files go with it); the lab page follows the deployment live.
            await page.GetByLabel("Lab name").FillAsync(name);
            await page.GetByRole(AriaRole.Button, new() { Name = "Deploy" }).ClickAsync();
            await page.WaitForURLAsync($"**/labs/{name}");
            await page.WaitForFunctionAsync("() => { const s = document.querySelector('#lab-graph')?.dataset.states; " +
                "return !!s && Object.values(JSON.parse(s)).length === 6 && Object.values(JSON.parse(s)).every(x => x === 'running'); }",
                null, new() { Timeout = (float)Slow.TotalMilliseconds });
            foreach (var node in new[] { "router1", "router2", "router3", "PC1", "PC2", "PC3" })
            {
                Assert.Equal("rgb(46,125,50)", await page.EvaluateAsync<string>(
                    $"() => ltb.graph.colour(document.querySelector('#lab-graph'), '{node}').replace(/ /g, '')"));
            }
            await Assertions.Expect(page.GetByTestId("lab-tasks").Locator("[data-task='deployment']")).ToHaveAttributeAsync("data-task-state", "succeeded");

            await ConsoleSeesTwoNeighboursAsync(page);
            await CaptureSeesOspfAsync(page, name);
            await LinkGoesDownAndUpAsync(page);
            await page.GetByTestId("info-router1").ClickAsync();
            await Assertions.Expect(page.GetByRole(AriaRole.Dialog)).ToContainTextAsync("frr");
            await Assertions.Expect(page.GetByRole(AriaRole.Dialog)).ToContainTextAsync("eth1");
            await page.GetByRole(AriaRole.Dialog).GetByRole(AriaRole.Button, new() { Name = "Close" }).Last.ClickAsync();
            await BrowserFixture.ScreenshotAsync(page, "lab-frr01-light");

            // A snapshot: its task runs, and the list shows it ready ("VM memory" asked: containers ignore it).
            await page.GetByLabel("Snapshot name").FillAsync("ui-snap");
            await page.GetByLabel("VM memory").CheckAsync();
            await page.GetByTestId("snapshot-take").ClickAsync();
            await Assertions.Expect(page.GetByTestId("snapshot-list").Locator("[data-snapshot='ui-snap'] [data-state]"))
                .ToHaveAttributeAsync("data-state", "ready", new() { Timeout = (float)Slow.TotalMilliseconds });

            await page.GetByTestId("lab-destroy").ClickAsync();
            await page.GetByRole(AriaRole.Dialog).GetByRole(AriaRole.Button, new() { Name = "Destroy" }).ClickAsync();
            await page.WaitForURLAsync(server.BaseAddress.ToString());
            using var owner = await server.LoginAsync(student.UserName, ServerFixture.UserPassword);
            using var api = new LtbApiClient(owner);
            await LabTestSupport.WaitForAsync(async () =>
            {
                try
                {
                    await api.GetLabAsync(name, ct);
                    return false;
                }
                catch (LtbApiException e) when (e.Status == 404)
                {
                    return true;
                }
            }, $"{name} destroyed");
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(folder)!, recursive: true);
        }
    }

    [Fact]
    public async Task An_instructor_publishes_a_topology_folder_as_a_template_with_its_files()
    {
        server.Require();
        browser.Require();
        var instructor = await server.CreateUserAsync("uit", "instructor");
        var name = ServerFixture.Unique("uitpl");
        var folder = CopyFrr01();
        try
        {
            var page = await browser.NewPageAsync(server.BaseAddress);
            await BrowserFixture.SignInAsync(page, instructor.UserName, ServerFixture.UserPassword);
            await BrowserFixture.WaitInteractiveAsync(page);
            await PickFolderAsync(page, folder);
            await page.GetByLabel("Template name (default: the topology's)").FillAsync(name);
            await page.GetByTestId("template-upload-button").ClickAsync();
            await page.WaitForURLAsync("**/templates/*");
            await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = name })).ToBeVisibleAsync();
            // Its graph beside its YAML: the six nodes, on paper.
            await page.WaitForFunctionAsync("() => { const s = document.querySelector('#template-graph')?.dataset.states; " +
                "return !!s && Object.keys(JSON.parse(s)).length === 6 && Object.values(JSON.parse(s)).every(x => x === 'defined'); }");
            using var api = new LtbApiClient(await server.LoginAsync(instructor.UserName, ServerFixture.UserPassword));
            var template = (await api.ListTemplatesAsync("name=" + name, TestContext.Current.CancellationToken)).Items.Single(t => t.Name == name);
            Assert.Contains((await api.GetTemplateAsync(template.Id, TestContext.Current.CancellationToken)).Current!.Files,
                f => f.Path == "router1/frr.conf");
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(folder)!, recursive: true);
        }
    }

    /// <summary>The templates page's folder picker, with <paramref name="folder"/> picked (as a user picks the whole folder).</summary>
    private static async Task PickFolderAsync(IPage page, string folder)
    {
        await page.GetByRole(AriaRole.Link, new() { Name = "Templates" }).First.ClickAsync();
        // The folder picker works once Blazor's InputFile has hooked it (after the page's interactive render).
        await page.WaitForFunctionAsync("() => document.querySelector('[data-testid=template-folder]')?._blazorInputFileNextFileId !== undefined");
        await page.GetByTestId("template-folder").SetInputFilesAsync(folder);
        await Assertions.Expect(page.GetByTestId("template-upload")).ToContainTextAsync("router1/frr.conf");
    }

    /// <summary>vtysh in router1's console until OSPF has converged with router2 and router3 (the wait timer is 40 s).</summary>
    private static async Task ConsoleSeesTwoNeighboursAsync(IPage page)
    {
        await page.GetByTestId("console-router1").ClickAsync();
        var terminal = page.Locator("#console-router1");
        await Assertions.Expect(terminal).ToHaveAttributeAsync("data-console", "open");
        var deadline = DateTime.UtcNow + Slow;
        var seen = "";
        while (DateTime.UtcNow < deadline)
        {
            await terminal.Locator(".xterm").ClickAsync();
            await page.Keyboard.TypeAsync("clear; vtysh -c \"show ip ospf neighbor\"");
            await page.Keyboard.PressAsync("Enter");
            await Task.Delay(3000);
            seen = await terminal.Locator(".xterm-rows").InnerTextAsync();
            if (FullNeighbour().Count(seen) == 2)
            {
                Assert.Contains("Neighbor ID", seen, StringComparison.Ordinal);
                return;
            }
        }
        Assert.Fail($"router1's console did not show two OSPF neighbours in Full state; it shows:\n{seen}");
    }

    /// <summary>A capture of router1:eth1 shows OSPF rows; a display filter keeps only them; pause; the pcapng downloads.</summary>
    private static async Task CaptureSeesOspfAsync(IPage page, string lab)
    {
        await page.GetByTestId("capture-open-router1:eth1").ClickAsync();
        var packets = page.GetByTestId("capture-router1:eth1");
        await Assertions.Expect(packets.Locator("tr[data-protocol='OSPF']").First).ToBeVisibleAsync(new() { Timeout = 40_000 });
        Assert.Contains($"ltb capture {lab} router1:eth1 -w - | wireshark -k -i -", await page.Locator(".ltb-command").InnerTextAsync(), StringComparison.Ordinal);

        var filter = page.GetByLabel("Display filter");
        await filter.FillAsync("ospf");
        await page.GetByTestId("capture-apply").ClickAsync();
        await Assertions.Expect(page.GetByTestId("capture-state")).ToContainTextAsync("filter ospf", new() { Timeout = 20_000 });
        await Assertions.Expect(packets.Locator("tr[data-protocol='OSPF']").First).ToBeVisibleAsync(new() { Timeout = 40_000 });
        await Assertions.Expect(packets.Locator("tbody tr:not([data-protocol='OSPF'])")).ToHaveCountAsync(0);

        // An invalid display filter is refused with tshark's words at the field.
        await filter.FillAsync("ospf.nosuchfield == 1");
        await page.GetByTestId("capture-apply").ClickAsync();
        await Assertions.Expect(page.GetByTestId("capture-router1:eth1-panel")).ToContainTextAsync("displayFilter", new() { Timeout = 20_000 });
        Assert.Equal(0, await packets.Locator("tbody tr").CountAsync());
        await filter.FillAsync("ospf");
        await page.GetByTestId("capture-apply").ClickAsync();
        await Assertions.Expect(packets.Locator("tr[data-protocol='OSPF']").First).ToBeVisibleAsync(new() { Timeout = 40_000 });

        await page.GetByTestId("capture-pause").ClickAsync();
        await Assertions.Expect(page.GetByTestId("capture-state")).ToContainTextAsync("paused");
        var download = await page.RunAndWaitForDownloadAsync(() => page.GetByTestId("capture-download").ClickAsync());
        var file = Path.Combine(Path.GetTempPath(), ServerFixture.Unique("ui-capture") + ".pcapng");
        await download.SaveAsAsync(file);
        try
        {
            var bytes = await File.ReadAllBytesAsync(file);
            Assert.Equal(new byte[] { 0x0A, 0x0D, 0x0D, 0x0A }, bytes[..4]); // a pcapng section header block
            Assert.EndsWith("router1-eth1.pcapng", download.SuggestedFilename, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
        await page.GetByTestId("capture-pause").ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Close capture router1:eth1" }).ClickAsync();
    }

    private static async Task LinkGoesDownAndUpAsync(IPage page)
    {
        var link = page.GetByTestId("link-list").GetByRole(AriaRole.Row).Filter(new() { Has = page.Locator("[data-link='router1:eth1']") });
        await link.GetByRole(AriaRole.Button, new() { Name = "Take the link at router1:eth1 down" }).ClickAsync();
        await Assertions.Expect(link.Locator("[data-state]")).ToHaveAttributeAsync("data-state", "down", new() { Timeout = 30_000 });
        await link.GetByRole(AriaRole.Button, new() { Name = "Bring the link at router1:eth1 up" }).ClickAsync();
        await Assertions.Expect(link.Locator("[data-state]")).ToHaveAttributeAsync("data-state", "up", new() { Timeout = 30_000 });
    }

    /// <summary>The corpus folder as a user has it on disk (a folder named frr01 a picker uploads whole).</summary>
    private static string CopyFrr01()
    {
        var root = Directory.CreateTempSubdirectory("ltb-ui-frr01-").FullName;
        var target = Path.Combine(root, "frr01");
        var source = Path.Combine(Repo.ContainerlabCorpus, "frr01");
        foreach (var file in Directory.GetFiles(source, "*", SearchOption.AllDirectories))
        {
            var to = Path.Combine(target, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(to)!);
            File.Copy(file, to);
        }
        return target;
    }
}
