using Ltb.Cli.Commands;

namespace Ltb.Cli.Tests;

/// <summary>What `ltb gateway session` makes of the command line sshd passes (SSH_ORIGINAL_COMMAND) and LTB_TARGET.</summary>
public sealed class GatewaySessionRequestTests
{
    [Theory]
    [InlineData("frr01/router1", null, "Shell frr01 router1")]
    [InlineData("frr01/router1 --", null, "Shell frr01 router1")]
    [InlineData("frr01/router1 -- vtysh -c \"show ip route\"", null, "Command frr01 router1 vtysh -c \"show ip route\"")]
    [InlineData("frr01/router1 hostname", null, "Command frr01 router1 hostname")]
    [InlineData("frr01/router1 --version", null, "Command frr01 router1 --version")]
    [InlineData("", "lab/h1", "Shell lab h1")]
    [InlineData("scp -t /tmp/x", "lab/h1", "Command lab h1 scp -t /tmp/x")]
    [InlineData("ltb-sftp", "lab/h1", "Sftp lab h1")]
    [InlineData("frr01/router1", "lab/h1", "Command lab h1 frr01/router1")]
    public void Reads_the_target_and_what_to_run(string original, string? target, string expected)
    {
        var text = GatewaySessionRequest.Parse(original, target) switch
        {
            GatewaySessionRequest.Shell s => $"Shell {s.Lab} {s.Node}",
            GatewaySessionRequest.Command c => $"Command {c.Lab} {c.Node} {c.Line}",
            GatewaySessionRequest.Sftp f => $"Sftp {f.Lab} {f.Node}",
            var other => other.ToString(),
        };
        Assert.Equal(expected, text);
    }

    [Theory]
    [InlineData(null, null, null)]
    [InlineData("router1", null, "'router1' is not LAB/NODE")]
    [InlineData("a/b/c", null, "'a/b/c' is not LAB/NODE")]
    [InlineData("/b", null, "'/b' is not LAB/NODE")]
    [InlineData("ltb-sftp", null, "sftp and scp name their node with LTB_TARGET")]
    [InlineData("", "nodeonly", "LTB_TARGET 'nodeonly' is not LAB/NODE")]
    public void Without_a_target_it_explains(string? original, string? target, string? problem)
    {
        var help = Assert.IsType<GatewaySessionRequest.Help>(GatewaySessionRequest.Parse(original, target));
        if (problem is null)
        {
            Assert.Null(help.Problem);
        }
        else
        {
            Assert.StartsWith(problem, help.Problem);
        }
    }
}
