using System.Diagnostics;
using System.Text.Json;
using Ltb.Testing;
using Microsoft.Playwright;

namespace Ltb.Server.Tests.Web;

/// <summary>
/// What the UI tests check on every main page: axe-core's accessibility rules (the npm package of src/Ltb.Web/client,
/// installed by the build's `npm ci`, injected into the page; never fetched from a CDN), the time a page takes to show
/// its content, and its screenshots, light and dark, into docs/ui/ (docs/ui.md shows them).
/// </summary>
public static class PageChecks
{
    public static string AxeScript => Path.Combine(Repo.Root, "src", "Ltb.Web", "client", "node_modules", "axe-core", "axe.min.js");

    public static string ScreenshotDirectory => Path.Combine(Repo.Root, "docs", "ui");

    public static void RequireAxe() =>
        Prerequisite.Require(File.Exists(AxeScript), $"axe-core at {AxeScript} (the build's `npm ci` in src/Ltb.Web/client installs it)");

    /// <summary>
    /// The violations axe-core finds on the page as it is now, one line each (rule, impact, where): the serious and critical
    /// ones of every rule, and colour contrast at any impact.
    /// </summary>
    public static async Task<IReadOnlyList<string>> AxeViolationsAsync(IPage page)
    {
        if (!await page.EvaluateAsync<bool>("() => typeof window.axe !== 'undefined'"))
        {
            await InjectAxeAsync(page);
        }
        var json = await page.EvaluateAsync<string>("""
            async () => {
              const r = await axe.run(document, { resultTypes: ['violations'] });
              return JSON.stringify(r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical' || v.id === 'color-contrast')
                .map(v => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.slice(0, 3).map(n => n.target.join(' ') + (v.id === 'color-contrast' && n.any.length ? ` (${n.any[0].message})` : '')) })));
            }
            """);
        using var doc = JsonDocument.Parse(json);
        return [.. doc.RootElement.EnumerateArray().Select(v =>
            $"{v.GetProperty("id").GetString()} ({v.GetProperty("impact").GetString()}): {v.GetProperty("help").GetString()} at " +
            string.Join(" | ", v.GetProperty("targets").EnumerateArray().Select(t => t.GetString())))];
    }

    /// <summary>
    /// axe-core into the page through DevTools (Runtime.evaluate): a &lt;script&gt; tag with its text, as Playwright's
    /// AddScriptTag makes, is an inline script the UI's Content-Security-Policy refuses.
    /// </summary>
    private static async Task InjectAxeAsync(IPage page)
    {
        var cdp = await page.Context.NewCDPSessionAsync(page);
        try
        {
            await cdp.SendAsync("Runtime.evaluate", new Dictionary<string, object> { ["expression"] = AxeSource.Value });
        }
        finally
        {
            await cdp.DetachAsync();
        }
    }

    private static readonly Lazy<string> AxeSource = new(() => File.ReadAllText(AxeScript));

    /// <summary>Opens <paramref name="path"/> and waits until <paramref name="ready"/> is visible: the time from the request to the content.</summary>
    public static async Task<TimeSpan> OpenAsync(IPage page, string path, ILocator ready)
    {
        var watch = Stopwatch.StartNew();
        await page.GotoAsync(path);
        await Assertions.Expect(ready).ToBeVisibleAsync();
        watch.Stop();
        await BrowserFixture.WaitInteractiveAsync(page);
        await ThemeSettledAsync(page);
        return watch.Elapsed;
    }

    /// <summary>
    /// Waits until the page wears the theme the browser chose (the layout switches to it after its first interactive
    /// render, a moment after the circuit is up) and no colour transition is under way: axe measures the colours the
    /// user sees, not a chip half-way from the light palette's green to the dark one's (on a loaded machine it caught one).
    /// </summary>
    private static async Task ThemeSettledAsync(IPage page) => await page.WaitForFunctionAsync("""
        () => (getComputedStyle(document.body).backgroundColor === 'rgb(255, 255, 255)') === (localStorage.getItem('ltb.theme') !== 'dark')
          && document.getAnimations().every(a => !(a instanceof CSSTransition))
        """);

    /// <summary>
    /// The floor the pages are measured against, timed the same way in the same browser: a static file of the UI and the
    /// sign-in page (server-rendered, no circuit, no API call). What a page takes beyond these is its own work.
    /// </summary>
    public static async Task<(TimeSpan Asset, TimeSpan SignIn)> FloorAsync(IPage page)
    {
        var watch = Stopwatch.StartNew();
        await page.GotoAsync("/ui/app.css");
        await Assertions.Expect(page.Locator("body")).ToContainTextAsync(".ltb-editor");
        var asset = watch.Elapsed;
        watch.Restart();
        await page.GotoAsync("/signin");
        await Assertions.Expect(page.GetByLabel("User name")).ToBeVisibleAsync();
        return (asset, watch.Elapsed);
    }

    public static async Task ScreenshotAsync(IPage page, string name)
    {
        Directory.CreateDirectory(ScreenshotDirectory);
        // The viewport (1280x800) only: what a user sees first, and small enough to keep in the repository.
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ScreenshotDirectory, name + ".png"), Animations = ScreenshotAnimations.Disabled });
    }

    /// <summary>Sets the browser's theme (the choice lives in localStorage) and reloads into it.</summary>
    public static async Task SetThemeAsync(IPage page, bool dark)
    {
        await page.EvaluateAsync($"() => localStorage.setItem('ltb.theme', '{(dark ? "dark" : "light")}')");
        await page.ReloadAsync();
        await BrowserFixture.WaitInteractiveAsync(page);
        await page.WaitForFunctionAsync($"() => (getComputedStyle(document.body).backgroundColor === 'rgb(255, 255, 255)') === {(dark ? "false" : "true")}");
    }
}
