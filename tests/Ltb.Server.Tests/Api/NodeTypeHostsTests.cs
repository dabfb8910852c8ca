using System.Net.Http.Json;
using Ltb.Server.Data;
using Ltb.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Ltb.Server.Tests.Api;

/// <summary>
/// The device catalog names the hosts that can run each node type (issue #16): by the kinds each host's agent reported
/// (as placement decides), with whether the host holds the type's image and has KVM.
/// </summary>
public sealed class NodeTypeHostsTests(SqliteServer s) : IClassFixture<SqliteServer>
{
    private const string FrrImage = "quay.io/frrouting/frr:10.5.1";

    [Fact]
    public async Task A_type_lists_the_hosts_that_run_its_kind_with_image_and_kvm()
    {
        s.Require();
        var ct = TestContext.Current.CancellationToken;
        var routers = await HostAsync("rtr", ["linux", "frr"], [FrrImage], kvm: true, LabHostState.Ready);
        var plain = await HostAsync("pln", ["linux"], ["alpine:3.20"], kvm: false, LabHostState.Disabled);

        var frr = await Http.ReadAsync<NodeTypeDto>(await s.Admin.GetAsync("/api/v1/node-types/frr", ct), 200);
        var onRouters = Assert.Single(frr.Hosts, h => h.Id == routers);
        Assert.Equal((true, true), (onRouters.ImagePresent!.Value, onRouters.Kvm));
        Assert.DoesNotContain(frr.Hosts, h => h.Id == plain); // its agent does not run frr: placement would not put a router there
        Assert.Contains(frr.Hosts, h => h.Name == "local"); // the in-process agent runs every container kind

        // A type without an image of its own: whether it is present is not known; a disabled host is listed with its state.
        using var student = await s.LoginAsync((await s.CreateUserAsync("nth")).UserName, ServerFixture.UserPassword);
        var linux = (await Http.ReadAsync<Paged<NodeTypeDto>>(await student.GetAsync("/api/v1/node-types?pageSize=200", ct), 200))
            .Items.Single(t => t.Name == "linux");
        Assert.Equal(("disabled", (bool?)null), linux.Hosts.Where(h => h.Id == plain).Select(h => (h.State, h.ImagePresent)).Single());
        Assert.Contains(linux.Hosts, h => h.Id == routers);

        // A host that lacks the image says so.
        await UpdateAsync(routers, h => h.Images = ["alpine:3.20"]);
        frr = await Http.ReadAsync<NodeTypeDto>(await s.Admin.GetAsync("/api/v1/node-types/frr", ct), 200);
        Assert.False(frr.Hosts.Single(h => h.Id == routers).ImagePresent);
    }

    private async Task<Guid> HostAsync(string prefix, List<string> kinds, List<string> images, bool kvm, LabHostState state)
    {
        var host = await Http.ReadAsync<HostDto>(await s.Admin.PostAsJsonAsync("/api/v1/hosts",
            new CreateHostRequest(ServerFixture.Unique(prefix), "https://10.0.0.1:7443", 4, 8L << 30)), 201);
        // What an agent's registration and heartbeats would report.
        await UpdateAsync(host.Id, h => (h.Kinds, h.Images, h.Kvm, h.State) = (kinds, images, kvm, state));
        return host.Id;
    }

    private async Task UpdateAsync(Guid id, Action<LabHost> change)
    {
        await using var scope = s.Server.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<LtbDbContext>();
        change(await db.LabHosts.SingleAsync(h => h.Id == id));
        await db.SaveChangesAsync();
    }
}
