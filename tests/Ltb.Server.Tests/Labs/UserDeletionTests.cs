using Ltb.Server.Api;
using Ltb.Server.Tests.Infrastructure;

namespace Ltb.Server.Tests.Labs;

/// <summary>Deleting a user whose labs still run is refused (their containers would be left behind), on real containers.</summary>
public sealed class UserDeletionTests(SqliteServer server) : IClassFixture<SqliteServer>
{
    [Fact]
    public async Task Deleting_a_user_with_a_deployed_lab_is_refused_until_the_lab_is_destroyed()
    {
        LabTestSupport.RequireDocker();
        var user = await server.CreateUserAsync("del", "student");
        using var student = await server.LoginAsync(user.UserName, ServerFixture.UserPassword);
        var name = ServerFixture.Unique("ud");
        await using var deployed = await ServerLab.RunAsync(student, LabTestSupport.TinyLab(name));
        var runtime = deployed.RuntimeName;
        Assert.Equal(2, await LabTestSupport.ContainersAsync(runtime));
        var refused = await Http.ProblemAsync(await server.Admin.DeleteAsync($"/api/v1/users/{user.Id}"), 409);
        Assert.Equal($"user '{user.UserName}' has 1 lab that is not destroyed: {name} ({deployed.Id}); destroy them first " +
            "(DELETE /api/v1/labs/ID, as admin), then delete the user: deleting the user now would leave their containers running",
            refused.GetProperty("detail").GetString());
        // Nothing happened: the user and the containers are there.
        await Http.EnsureAsync(await server.Admin.GetAsync($"/api/v1/users/{user.Id}"), 200, "the user after the refusal");
        Assert.Equal(2, await LabTestSupport.ContainersAsync(runtime));
        await deployed.DestroyAsync(server.Admin);
        await deployed.AssertNoLeftoversAsync();
        await Http.EnsureAsync(await server.Admin.DeleteAsync($"/api/v1/users/{user.Id}"), 204, "delete the user after the destroy");
        await Http.ProblemAsync(await server.Admin.GetAsync($"/api/v1/users/{user.Id}"), 404);
    }
}
