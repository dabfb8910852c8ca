using Ltb.Testing;
using Microsoft.Playwright;

namespace Ltb.Server.Tests.Web;

/// <summary>
/// Debian's chromium, headless, driven by Playwright (it cannot download a browser here; ENVIRONMENT.md has the flags),
/// one per test class; each test signs in within a fresh context (its own cookies). Screenshots go to
/// .test-results/ui/ (kept by the test run).
/// </summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    public const string Chromium = "/usr/bin/chromium";
    private IPlaywright? _playwright;
    private IBrowser? _browser;
    private string? _unavailable;

    public IBrowser Browser => _browser ?? throw new InvalidOperationException(_unavailable);

    public static string ScreenshotDirectory => Path.Combine(Repo.Root, ".test-results", "ui");

    public void Require() => Prerequisite.Require(_unavailable is null, _unavailable ?? "");

    public async ValueTask InitializeAsync()
    {
        if (!File.Exists(Chromium))
        {
            _unavailable = $"chromium at {Chromium} (scripts/prepare-host.sh test installs it)";
            return;
        }
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync"],
        });
    }

    /// <summary>A fresh browser context at the server (1280x800, the size the UI is made for).</summary>
    public async Task<IPage> NewPageAsync(Uri server)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = server.ToString(),
            ViewportSize = new ViewportSize { Width = 1280, Height = 800 },
        });
        context.SetDefaultTimeout(30_000);
        var page = await context.NewPageAsync();
        await WatchContentSecurityPolicyAsync(page);
        return page;
    }

    /// <summary>What the Content-Security-Policy refused on the page so far (each as chromium reported it).</summary>
    public static IReadOnlyList<string> CspViolations(IPage page) =>
        Violations.TryGetValue(page, out var found) ? [.. found] : [];

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<IPage, System.Collections.Concurrent.ConcurrentQueue<string>> Violations = new();

    /// <summary>
    /// Records every CSP refusal: chromium's console message ("Refused to ...") and the securitypolicyviolation event of
    /// each document (the init script runs through DevTools, so the policy does not block it).
    /// </summary>
    private static async Task WatchContentSecurityPolicyAsync(IPage page)
    {
        var found = Violations.GetValue(page, _ => new());
        page.Console += (_, message) =>
        {
            if (message.Text.Contains("Refused to", StringComparison.Ordinal) || message.Text.StartsWith("ltb-csp-violation", StringComparison.Ordinal))
            {
                found.Enqueue($"{page.Url}: {message.Text}");
            }
        };
        await page.AddInitScriptAsync("""
            document.addEventListener('securitypolicyviolation', e =>
              console.warn(`ltb-csp-violation ${e.violatedDirective} blocked ${e.blockedURI} at ${e.sourceFile}:${e.lineNumber}`));
            """);
    }

    public static async Task SignInAsync(IPage page, string user, string password)
    {
        await page.GotoAsync("/signin");
        await page.GetByLabel("User name").FillAsync(user);
        await page.GetByLabel("Password").FillAsync(password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
    }

    /// <summary>Waits until Blazor's circuit is up (the page reacts to clicks); says where the browser is if it never is.</summary>
    public static async Task WaitInteractiveAsync(IPage page)
    {
        try
        {
            await page.WaitForFunctionAsync("() => window.Blazor !== undefined && window.ltb !== undefined && document.querySelector('.mud-layout') !== null");
            // The circuit is connected once an interactive component has rendered after the prerendered page.
            await page.WaitForFunctionAsync("() => document.querySelector('[data-testid=theme-toggle]') !== null && document.body.dataset.ltbInteractive === '1'");
        }
        catch (TimeoutException e)
        {
            var text = await page.InnerTextAsync("body");
            throw new TimeoutException($"the page at {page.Url} did not become interactive; it shows: {text[..Math.Min(600, text.Length)]}", e);
        }
    }

    public static async Task ScreenshotAsync(IPage page, string name)
    {
        Directory.CreateDirectory(ScreenshotDirectory);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ScreenshotDirectory, name + ".png"), FullPage = true });
    }

    public async ValueTask DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.DisposeAsync();
        }
        _playwright?.Dispose();
    }
}
