using Ltb.Server.Tests.Infrastructure;
using Ltb.Server.Tests.Templates;
using Microsoft.Playwright;

namespace Ltb.Server.Tests.Web;

public sealed partial class WebStudentTests
{
    private static string Template(string name, string cpu) => $$"""
        name: {{name}}
        topology:
          nodes:
            n1: {kind: linux, image: "ltb/tiny:latest", cpu: {{cpu}}, memory: 64MiB}
        """;

    /// <summary>
    /// An instructor books a template for each member of a group on the calendar: the capacity answer comes before
    /// confirming, a booking that does not fit is refused in words (what is short, where, the nearest window) and cannot
    /// be confirmed, one that fits is booked and shows on the calendar.
    /// </summary>
    [Fact]
    public async Task An_instructor_books_for_a_group_and_sees_the_refusal_when_it_does_not_fit()
    {
        server.Require();
        browser.Require();
        var instructor = await server.CreateUserAsync("uii", "instructor");
        var member = await server.CreateUserAsync("uim");
        var group = await server.CreateGroupAsync("uig", instructor.Id, member.Id);
        var huge = await TemplateTestSupport.CreateAsync(server.Admin, Template("huge", "512"), ServerFixture.Unique("uihuge"), "everyone");
        var small = await TemplateTestSupport.CreateAsync(server.Admin, Template("small", "0.1"), ServerFixture.Unique("uismall"), "everyone");

        var page = await browser.NewPageAsync(server.BaseAddress);
        await BrowserFixture.SignInAsync(page, instructor.UserName, ServerFixture.UserPassword);
        await BrowserFixture.WaitInteractiveAsync(page);
        await page.GetByRole(AriaRole.Link, new() { Name = "Reservations" }).ClickAsync();
        await page.GetByTestId("reservation-new").ClickAsync();
        var form = page.GetByTestId("reservation-form");
        var name = ServerFixture.Unique("uiclass");
        await form.GetByLabel("Name (names the labs)").FillAsync(name);
        await ChooseAsync(page, "reservation-template", huge.Name);
        var start = DateTime.Now.Date.AddDays(2).AddHours(10);
        await form.GetByLabel("Starts").FillAsync(start.ToString("yyyy-MM-ddTHH:mm"));
        await form.GetByLabel("Ends").FillAsync(start.AddHours(2).ToString("yyyy-MM-ddTHH:mm"));
        await ChooseAsync(page, "reservation-audience", "each member of a group");
        await ChooseAsync(page, "reservation-group", group.Name);

        await form.GetByTestId("reservation-check").ClickAsync();
        var answer = form.GetByTestId("reservation-answer");
        await Assertions.Expect(answer).ToHaveAttributeAsync("data-fits", "no");
        await Assertions.Expect(answer).ToContainTextAsync("short of CPU");
        await Assertions.Expect(form.GetByTestId("reservation-confirm")).ToBeDisabledAsync();
        await BrowserFixture.ScreenshotAsync(page, "reservation-refused-light");

        // The small template fits: the plan is shown (two labs, one per member), then booked.
        await ChooseAsync(page, "reservation-template", small.Name);
        await Assertions.Expect(form.GetByTestId("reservation-confirm")).ToBeDisabledAsync();
        await form.GetByTestId("reservation-check").ClickAsync();
        await Assertions.Expect(answer).ToHaveAttributeAsync("data-fits", "yes");
        await Assertions.Expect(answer).ToContainTextAsync("Fits: 2 labs");
        await form.GetByLabel("Snapshot each lab at the end (before it is removed)").CheckAsync();
        await form.GetByTestId("reservation-confirm").ClickAsync();
        var booked = page.GetByTestId("calendar").Locator($"[data-day='{start:yyyy-MM-dd}'] [data-reservation='{name}']");
        await Assertions.Expect(booked).ToContainTextAsync("10:00–12:00");
        await Assertions.Expect(page.GetByTestId("reservation-details")).ToContainTextAsync(member.UserName);
        await Assertions.Expect(page.GetByTestId("reservation-details")).ToContainTextAsync("snapshot at the end");
        await BrowserFixture.ScreenshotAsync(page, "reservations-light");

        using var api = new LtbApiClient(await server.LoginAsync(member.UserName, ServerFixture.UserPassword));
        var seen = Assert.Single((await api.ListReservationsAsync("", TestContext.Current.CancellationToken)).Items, r => r.Name == name);
        Assert.Equal(2, seen.Labs.Count);
        Assert.True(seen.SnapshotAtEnd);
    }

    /// <summary>Picks an item of a MudSelect (its list opens in a popover).</summary>
    private static async Task ChooseAsync(IPage page, string select, string item)
    {
        await page.GetByTestId(select).ClickAsync();
        await page.Locator(".mud-popover-open .mud-list-item").Filter(new() { HasText = item }).First.ClickAsync();
        await Assertions.Expect(page.Locator(".mud-popover-open .mud-list-item")).ToHaveCountAsync(0);
    }
}
