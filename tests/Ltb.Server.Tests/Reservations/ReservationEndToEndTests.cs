using System.Formats.Tar;
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
/// ahead, asking for a snapshot at the end; the scheduler deploys a real lab for each, warns both before the end, and at
/// the end snapshots each lab (with a file its student wrote) for its student and then removes both, leaving nothing of
/// them on the host.
/// </summary>
public sealed class ReservationEndToEndTests(ScheduledServer fixture) : IClassFixture<ScheduledServer>
{
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(50);

    [Fact]
    public async Task A_group_reservation_deploys_a_lab_per_student_warns_both_snapshots_and_removes_both_at_its_end()
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
            "members", group.Id, SnapshotAtEnd: true));
        Assert.True(r.SnapshotAtEnd);
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
                var wrote = await Http.ReadAsync<ExecResponse>(await fixture.Admin.PostAsJsonAsync($"/api/v1/labs/{lab.Id}/exec",
                    new ExecRequest("n1", ["sh", "-c", $"echo {lab.Owner} > /root/work.txt"]), TestContext.Current.CancellationToken), 200);
                Assert.True(wrote.ExitCode == 0, wrote.Stderr);
                labs.Add(lab);
            }
            // Both warned before the end.
            foreach (var lab in labs)
            {
                await WaitAsync(async () => (await Lab(lab.Id)).Events!.Any(e => e.Level == "warning" && e.Message.Contains("reservation 'e2e' ends at")
                        && e.Message.Contains("after a snapshot")),
                    start + Window, $"the end warning of {lab.Owner}'s lab");
                Assert.True(DateTimeOffset.UtcNow < start + Window, "the warning came before the end");
            }
            // Removed at the end, nothing left on the host.
            foreach (var lab in labs)
            {
                await WaitAsync(async () => (await Lab(lab.Id)).State == "removed", start + Window + TimeSpan.FromSeconds(60), $"{lab.Owner}'s lab removed");
                Assert.Equal(0, await LabTestSupport.LeftoversAsync(lab.RuntimeName));
                // Snapshotted before the removal, for the lab's student, with what the student wrote.
                var saved = Assert.Single((await Http.ReadAsync<Paged<SnapshotDto>>(await fixture.Admin.GetAsync($"/api/v1/labs/{lab.Id}/snapshots"), 200)).Items);
                Assert.Equal(("ready", lab.Owner), (saved.State, saved.Owner));
                Assert.StartsWith("e2e-end-", saved.Name, StringComparison.Ordinal);
                Assert.Equal(lab.Owner + "\n", await SnapshotFileAsync(saved.Id, "n1", "root/work.txt"));
            }
            Assert.Equal("ended", (await Get(r.Id)).State);
        }
        finally
        {
            await s.SetPolicyAsync(TenantPolicy.Default);
        }
    }

    /// <summary>A file of a node's part of a stored snapshot (its filesystem changes: snapshots/ID/nodes/NODE.tar).</summary>
    private async Task<string> SnapshotFileAsync(Guid snapshot, string node, string path)
    {
        await using var reader = new TarReader(File.OpenRead(Path.Combine(fixture.DataDirectory, "snapshots", snapshot.ToString("N"), "nodes", node + ".tar")));
        while (await reader.GetNextEntryAsync(copyData: true) is { } entry)
        {
            if (entry.Name.TrimStart('.', '/') == path && entry.DataStream is { } data)
            {
                return await new StreamReader(data).ReadToEndAsync();
            }
        }
        return $"(no {path} in {node}'s part of the snapshot)";
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
