using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Playwright;

namespace Ltb.Server.Tests.Web;

public sealed partial class WebLabTests
{
    /// <summary>Up to a minute and a half for the usage collector's first sample of the node (it samples every 5 s).</summary>
    private static readonly TimeSpan FirstSample = TimeSpan.FromSeconds(90);

    /// <summary>
    /// The node list's sparkline of <paramref name="node"/> appears with a real CPU figure (the live sample the usage
    /// collector took), stated in the image's accessible name with the node's name.
    /// </summary>
    private static async Task AssertUsageSparklineAsync(IPage page, string node)
    {
        var spark = page.GetByTestId($"usage-{node}");
        await Assertions.Expect(spark).ToBeVisibleAsync(new() { Timeout = (float)FirstSample.TotalMilliseconds });
        var value = await spark.GetAttributeAsync("data-value");
        Assert.True(double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var cpu) && cpu >= 0, $"CPU of {node}: {value}");
        var label = await spark.Locator("svg").GetAttributeAsync("aria-label");
        Assert.Matches(new Regex($"^CPU of {node}: {Regex.Escape(value!)} % of one core now, memory [0-9.]+ MiB"), label);
        Assert.NotEmpty((await spark.Locator("polyline").GetAttributeAsync("points"))!);
        Assert.Equal(label, await spark.GetAttributeAsync("title"));
    }

    /// <summary>
    /// With node a's console open: b's console too, the split view by keyboard shows both terminals at once side by side
    /// (1280x800; one above the other at a tablet's 800 px), a command typed in b runs there while a's terminal still
    /// holds what it printed, and back to tabs.
    /// </summary>
    private static async Task SplitViewAsync(IPage page)
    {
        await page.GetByTestId("console-b").ClickAsync();
        var a = page.Locator("#console-a");
        var b = page.Locator("#console-b");
        await Assertions.Expect(b).ToHaveAttributeAsync("data-console", "open");
        await Assertions.Expect(a).ToBeHiddenAsync();

        await page.GetByLabel("Split view (every tab at once)").FocusAsync();
        await page.Keyboard.PressAsync("Space");
        await Assertions.Expect(page.GetByTestId("console-tabs")).ToHaveAttributeAsync("data-split", "true");
        await Assertions.Expect(a).ToBeVisibleAsync();
        await Assertions.Expect(b).ToBeVisibleAsync();
        var left = (await a.BoundingBoxAsync())!;
        var right = (await b.BoundingBoxAsync())!;
        Assert.True(left.X + left.Width <= right.X, $"not side by side: a {left.X}+{left.Width}, b {right.X}");
        Assert.True(Math.Abs(left.Y - right.Y) < 2, $"not level: a at {left.Y}, b at {right.Y}");
        Assert.True(left.Width > 300 && right.Width > 300, $"too narrow: {left.Width}, {right.Width}");
        // Each terminal refitted to its half (xterm's fit addon on the element's resize): its screen fills the element.
        foreach (var (terminal, box) in new[] { (a, left), (b, right) })
        {
            var screen = (await terminal.Locator(".xterm-screen").BoundingBoxAsync())!;
            Assert.InRange(screen.Width, box.Width * 0.8, box.Width);
        }

        await b.Locator(".xterm").ClickAsync();
        await page.Keyboard.TypeAsync("echo split-$((6*7)) $(hostname)");
        await page.Keyboard.PressAsync("Enter");
        await Assertions.Expect(b.Locator(".xterm-rows")).ToContainTextAsync("split-42 b", new() { Timeout = 20_000 });
        await Assertions.Expect(a.Locator(".xterm-rows")).ToContainTextAsync("ui-42 a");
        await b.ScrollIntoViewIfNeededAsync();
        await PageChecks.ScreenshotAsync(page, "lab-consoles-split-light");

        // At a tablet's width one column: b under a, both still visible.
        await page.SetViewportSizeAsync(800, 1024);
        await page.WaitForFunctionAsync("() => { const a = document.querySelector('#console-a').getBoundingClientRect(), " +
            "b = document.querySelector('#console-b').getBoundingClientRect(); return a.width > 0 && b.top >= a.bottom; }");
        await Assertions.Expect(b.Locator(".xterm-rows")).ToContainTextAsync("split-42 b");
        await page.SetViewportSizeAsync(1280, 800);

        await page.GetByLabel("Split view (every tab at once)").FocusAsync();
        await page.Keyboard.PressAsync("Space");
        await Assertions.Expect(page.GetByTestId("console-tabs")).ToHaveAttributeAsync("data-split", "false");
        await Assertions.Expect(a).ToBeHiddenAsync();
        await Assertions.Expect(b).ToBeVisibleAsync();
    }
}
