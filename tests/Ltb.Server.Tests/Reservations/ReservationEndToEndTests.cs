using System.Net.Http.Json;
using Ltb.Server.Hosting;
using Ltb.Server.Tests.Infrastructure;
using Ltb.Server.Tests.Labs;
using Ltb.Server.Tests.Templates;
using Ltb.Topology.Policy;

namespace Ltb.Server.Tests.Reservations;

/// <summary>A server whose scheduler passes every second on the real clock, with the local host (this machine's Docker).</summary>
public sealed class ScheduledServer : SqliteServer
{
    protected override async Task ConfigureAsync(LtbServerOptions options)
    {
        await base.ConfigureAsync(options);
        options.SchedulerInterval = TimeSpan.FromSeconds(1);
        options.SeedDemoTemplate = false;
    }
}

/// <summary>
/// End to end on the real engine: an admin books a template for the two students of a group, starting a few seconds
/// ahead; the scheduler deploys a real lab for each, warns both before the end, and at the end removes both, leaving
/// nothing of them on the host.
/// </summary>
public sealed class ReservationEndToEndTests(ScheduledServer fixture) : IClassFixture<ScheduledServer>
{
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(50);

    [Fact]
    public async Task A_group_reservation_deploys_a_lab_per_student_warns_both_and_removes_both_at_its_end()
    {
        LabTestSupport.RequireDocker();
        var s = fixture;
        await s.SetPolicyAsync(TenantPolicy.Default with { Scheduling = new SchedulingPolicy { LeadSeconds = 2, WarningSeconds = 25 } });
        var (a, b) = (await s.CreateUserAsync("e2ea", "student"), await s.CreateUserAsync("e2eb", "student"));
        var group = await s.CreateGroupAsync("e2eg", a.Id, b.Id);
        var template = await TemplateTestSupport.CreateAsync(s.Admin, """
            name: e2e
            topology:
              nodes:
                n1: {kind: linux, image: "ltb/tiny:latest"}
            """, ServerFixture.Unique("e2e"), "everyone", null);
        var start = DateTimeOffset.UtcNow.AddSeconds(6);
        var r = await ReservationApi.CreateAsync(s.Admin, new CreateReservationRequest("e2e", template.Id, start, start + Window, null,
            "members", group.Id));
        Assert.Equal(new[] { a.UserName, b.UserName }.Order(StringComparer.Ordinal), r.Labs.Select(l => l.Recipient));
        var labs = new List<LabDto>();
        try
        {
            // Deployed for each member, each lab theirs.
            await WaitAsync(async () => (r = await Get(r.Id)).Labs.All(l => l.LabId is not null), start + TimeSpan.FromSeconds(10), "both labs created");
            foreach (var planned in r.Labs)
            {
                await WaitAsync(async () => (await Lab(planned.LabId!.Value)).State == "running", start + Window, $"{planned.Recipient}'s lab running");
                var lab = await Lab(planned.LabId!.Value);
                Assert.Equal(planned.Recipient, lab.Owner);
                Assert.Equal(1, await LabTestSupport.ContainersAsync(lab.RuntimeName));
                labs.Add(lab);
            }
            // Both warned before the end.
            foreach (var lab in labs)
            {
                await WaitAsync(async () => (await Lab(lab.Id)).Events!.Any(e => e.Level == "warning" && e.Message.Contains("reservation 'e2e' ends at")),
                    start + Window, $"the end warning of {lab.Owner}'s lab");
                Assert.True(DateTimeOffset.UtcNow < start + Window, "the warning came before the end");
            }
            // Removed at the end, nothing left on the host.
            foreach (var lab in labs)
            {
                await WaitAsync(async () => (await Lab(lab.Id)).State == "removed", start + Window + TimeSpan.FromSeconds(60), $"{lab.Owner}'s lab removed");
                Assert.Equal(0, await LabTestSupport.LeftoversAsync(lab.RuntimeName));
            }
            Assert.Equal("ended", (await Get(r.Id)).State);
        }
        finally
        {
            await s.SetPolicyAsync(TenantPolicy.Default);
        }
    }

    private async Task<ReservationDto> Get(Guid id) => await Http.ReadAsync<ReservationDto>(await fixture.Admin.GetAsync($"/api/v1/reservations/{id}"), 200);

    private async Task<LabDto> Lab(Guid id) => await Http.ReadAsync<LabDto>(await fixture.Admin.GetAsync($"/api/v1/labs/{id}"), 200);

    /// <summary>Polls every 500 ms until <paramref name="condition"/> holds; fails naming <paramref name="what"/> at <paramref name="deadline"/>.</summary>
    private static async Task WaitAsync(Func<Task<bool>> condition, DateTimeOffset deadline, string what)
    {
        while (!await condition())
        {
            Assert.True(DateTimeOffset.UtcNow < deadline, $"{what}: not by {deadline:HH:mm:ss}");
            await Task.Delay(500, TestContext.Current.CancellationToken);
        }
    }
}
