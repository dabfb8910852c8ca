using Ltb.Server.Tests.Infrastructure;
using Ltb.Server.Tests.Templates;
using Microsoft.Playwright;

namespace Ltb.Server.Tests.Web;

public sealed partial class WebStudentTests
{
    /// <summary>
    /// The dashboard's card of upcoming reservations shows the one the student booked (through the API) with its time,
    /// state and template; its quick actions lead to the template library, the editor and the booking form.
    /// </summary>
    [Fact]
    public async Task The_dashboard_shows_my_upcoming_reservation_and_quick_actions_that_lead_to_their_pages()
    {
        server.Require();
        browser.Require();
        var ct = TestContext.Current.CancellationToken;
        var student = await server.CreateUserAsync("uidr");
        var template = await TemplateTestSupport.CreateAsync(server.Admin, Template("small", "0.1"), ServerFixture.Unique("uidrtpl"), "everyone");
        using var http = await server.LoginAsync(student.UserName, ServerFixture.UserPassword);
        using var api = new LtbApiClient(http);
        var start = new DateTimeOffset(DateTime.Now.Date.AddDays(3).AddHours(9));
        var name = ServerFixture.Unique("uidrres");
        await api.CreateReservationAsync(new CreateReservationRequest(name, template.Id, start, start.AddHours(2)), ct);

        var page = await browser.NewPageAsync(server.BaseAddress);
        await BrowserFixture.SignInAsync(page, student.UserName, ServerFixture.UserPassword);
        await BrowserFixture.WaitInteractiveAsync(page);
        var row = page.GetByTestId("upcoming-reservations").Locator($"[data-reservation='{name}']");
        await Assertions.Expect(row).ToContainTextAsync($"{start.ToLocalTime():yyyy-MM-dd HH:mm}–{start.AddHours(2).ToLocalTime():HH:mm}");
        await Assertions.Expect(row).ToContainTextAsync(template.Name);
        await Assertions.Expect(row.Locator("[data-state]")).ToHaveAttributeAsync("data-state", "scheduled");

        var actions = page.GetByTestId("quick-actions");
        await actions.GetByRole(AriaRole.Link, new() { Name = "Deploy from a template" }).ClickAsync();
        await page.WaitForURLAsync("**/templates");
        await Assertions.Expect(page.GetByTestId("templates").GetByText(template.Name).First).ToBeVisibleAsync();
        await page.GoBackAsync();
        await actions.GetByRole(AriaRole.Link, new() { Name = "Open the editor" }).ClickAsync();
        await page.WaitForURLAsync("**/templates/editor");
        await Assertions.Expect(page.Locator("#topology-editor .cm-editor")).ToBeVisibleAsync();
        await page.GoBackAsync();
        // By keyboard: the booking form is open when the reservations page shows.
        await actions.GetByRole(AriaRole.Link, new() { Name = "Book a reservation" }).FocusAsync();
        await page.Keyboard.PressAsync("Enter");
        await page.WaitForURLAsync("**/reservations?new=true");
        await Assertions.Expect(page.GetByTestId("reservation-form")).ToBeVisibleAsync();
    }
}
