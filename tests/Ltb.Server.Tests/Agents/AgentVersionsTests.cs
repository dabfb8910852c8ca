using Ltb.Server.Hosting;

namespace Ltb.Server.Tests.Agents;

/// <summary>The agent versions a controller accepts: its own major.minor and the minor before it; the rest say what to upgrade.</summary>
public sealed class AgentVersionsTests
{
    private static readonly Version Controller = new(1, 5, 2);

    [Theory]
    [InlineData("1.5.0")]
    [InlineData("1.5.9+0123abcd")]
    [InlineData("1.4.0")]
    [InlineData("1.4.3.0")]
    public void Its_own_and_the_previous_minor_version_register(string agent) => Assert.Null(AgentVersions.Refusal(agent, Controller));

    [Theory]
    [InlineData("1.3.9", "the agent's version 1.3.9 is too old for this controller (1.5.2): upgrade the agent to 1.5 (a controller accepts agents of its own and the previous minor version: 1.5.x or 1.4.x)")]
    [InlineData("0.9.0", "the agent's version 0.9.0 is too old for this controller (1.5.2)")]
    [InlineData("1.6.0", "the agent's version 1.6.0 is newer than this controller's (1.5.2): upgrade the controller first (it accepts agents of version 1.5.x or 1.4.x)")]
    [InlineData("2.0.0", "is newer than this controller's")]
    [InlineData("", "the agent reports no version this controller understands ('')")]
    public void Other_versions_are_refused_with_what_to_upgrade(string agent, string expected) =>
        Assert.Contains(expected, AgentVersions.Refusal(agent, Controller));

    [Fact]
    public void A_first_minor_version_accepts_only_itself() =>
        Assert.Contains("1.0.x)", AgentVersions.Refusal("0.9.0", new Version(1, 0, 0)));
}
