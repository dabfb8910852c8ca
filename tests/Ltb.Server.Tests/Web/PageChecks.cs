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

    /// <summary>The serious and critical violations axe-core finds on the page as it is now, one line each (rule, impact, where).</summary>
    public static async Task<IReadOnlyList<string>> AxeViolationsAsync(IPage page)
    {
        if (!await page.EvaluateAsync<bool>("() => typeof window.axe !== 'undefined'"))
        {
            await page.AddScriptTagAsync(new() { Path = AxeScript });
        }
        var json = await page.EvaluateAsync<string>("""
            async () => {
              const r = await axe.run(document, { resultTypes: ['violations'] });
              return JSON.stringify(r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
                .map(v => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.slice(0, 3).map(n => n.target.join(' ')) })));
            }
            """);
        using var doc = JsonDocument.Parse(json);
        return [.. doc.RootElement.EnumerateArray().Select(v =>
            $"{v.GetProperty("id").GetString()} ({v.GetProperty("impact").GetString()}): {v.GetProperty("help").GetString()} at " +
            string.Join(" | ", v.GetProperty("targets").EnumerateArray().Select(t => t.GetString())))];
    }

    /// <summary>Opens <paramref name="path"/> and waits until <paramref name="ready"/> is visible: the time from the request to the content.</summary>
    public static async Task<TimeSpan> OpenAsync(IPage page, string path, ILocator ready)
    {
        var watch = Stopwatch.StartNew();
        await page.GotoAsync(path);
        await Assertions.Expect(ready).ToBeVisibleAsync();
        watch.Stop();
        await BrowserFixture.WaitInteractiveAsync(page);
        return watch.Elapsed;
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
