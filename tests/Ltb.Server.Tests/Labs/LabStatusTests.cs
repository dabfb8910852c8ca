using Ltb.Server.Api;
using Ltb.Server.Tests.Infrastructure;

namespace Ltb.Server.Tests.Labs;

/// <summary>
/// A lab's status is read through the server's per-lab cache (LabStatusCache): it says when it was observed, many
/// concurrent readers agree, and a node or link operation shows in the very next read.
/// </summary>
public sealed class LabStatusTests(SqliteServer fixture) : IClassFixture<SqliteServer>
{
    [Fact]
    public async Task Status_says_when_it_was_observed_and_shows_node_and_link_operations_at_once()
    {
        LabTestSupport.RequireDocker();
        fixture.Require();
        var admin = fixture.Admin;
        var name = ServerFixture.Unique("st");
        await using var lab = await ServerLab.RunAsync(admin, LabTestSupport.TinyLab(name));
        // Many readers at once: all answer, all running, observed within the last few seconds.
        var reads = await Task.WhenAll(Enumerable.Range(0, 20).Select(async _ =>
            await Http.ReadAsync<LabDto>(await admin.GetAsync($"/api/v1/labs/{name}"), 200)));
        Assert.All(reads, r =>
        {
            Assert.All(r.Nodes, n => Assert.Equal("running", n.State));
            Assert.NotNull(r.ObservedAt);
            Assert.InRange(DateTimeOffset.UtcNow - r.ObservedAt!.Value, TimeSpan.Zero, TimeSpan.FromSeconds(10));
        });

        // The reading is cached now; the stop must still show in the next read, not a few seconds later.
        await Http.ReadAsync<LabNodeDto>(await admin.PostAsync($"/api/v1/labs/{name}/nodes/b/stop", null), 200);
        var stopped = await Http.ReadAsync<LabDto>(await admin.GetAsync($"/api/v1/labs/{name}"), 200);
        Assert.Equal([("a", "running"), ("b", "stopped")], stopped.Nodes.Select(n => (n.Name, n.State)));
        Assert.True(stopped.ObservedAt > reads.Max(r => r.ObservedAt), "the read after the stop is a new observation");

        await Http.ReadAsync<LabNodeDto>(await admin.PostAsync($"/api/v1/labs/{name}/nodes/b/start", null), 200);
        var started = await Http.ReadAsync<LabDto>(await admin.GetAsync($"/api/v1/labs/{name}"), 200);
        Assert.All(started.Nodes, n => Assert.Equal("running", n.State));
        Assert.Equal(["up"], started.Links.Select(l => l.State));

        using (var down = await admin.PostAsync($"/api/v1/labs/{name}/links/a/eth1/down", null))
        {
            Assert.Equal(System.Net.HttpStatusCode.NoContent, down.StatusCode);
        }
        var linkDown = await Http.ReadAsync<LabDto>(await admin.GetAsync($"/api/v1/labs/{name}"), 200);
        Assert.Equal(["down"], linkDown.Links.Select(l => l.State));
        await lab.DestroyAsync();
        await lab.AssertNoLeftoversAsync();
    }
}
