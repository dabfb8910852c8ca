using System.Net;
using Ltb.Server.SshGateway;

namespace Ltb.Server.Tests.SshGateway;

/// <summary>The gateway's two texts: the authorized_keys line it gives sshd, and what it reads in sshd's log.</summary>
public sealed class SshGatewayPartsTests
{
    private static readonly Guid Key = Guid.Parse("0f6b1c2e-3d4a-4b5c-8d9e-0a1b2c3d4e5f");

    [Fact]
    public void A_key_of_a_user_with_nodes_may_forward_to_their_addresses_only()
    {
        var line = AuthorizedKeyLine.For("/run/ltb/ssh-gateway-2222/session", Key, "ssh-ed25519 AAAAC3Nza",
            [IPAddress.Parse("172.20.0.2"), IPAddress.Parse("2001:db8::5"), IPAddress.Parse("172.20.0.2")]);
        Assert.Equal("restrict,pty,command=\"/run/ltb/ssh-gateway-2222/session 0f6b1c2e-3d4a-4b5c-8d9e-0a1b2c3d4e5f\",port-forwarding," +
            "permitopen=\"172.20.0.2:*\",permitopen=\"[2001:db8::5]:*\" ssh-ed25519 AAAAC3Nza", line);
    }

    [Fact]
    public void A_key_of_a_user_without_nodes_may_not_forward_at_all()
    {
        // port-forwarding without any permitopen would allow every destination.
        var line = AuthorizedKeyLine.For("/s", Key, "ssh-rsa AAAAB3", []);
        Assert.Equal($"restrict,pty,command=\"/s {Key}\" ssh-rsa AAAAB3", line);
    }

    [Theory]
    [InlineData("Accepted publickey for ltb from UNKNOWN port 65535 ssh2: ED25519 SHA256:pvaiGyOGWqTGLrM0Xob99JriXrlC9G125eMb8jnx8Hs",
        "LoggedIn SHA256:pvaiGyOGWqTGLrM0Xob99JriXrlC9G125eMb8jnx8Hs")]
    [InlineData("debug1: connect_next: start for host 172.17.0.2 ([172.17.0.2]:22)", "Forwarded 172.17.0.2:22")]
    [InlineData("debug1: connect_next: start for host fd00::2 ([fd00::2]:830)", "Forwarded fd00::2:830")]
    [InlineData("Received request from UNKNOWN port 65535 to connect to host 10.1.2.3 port 22, but the request was denied.", "ForwardRefused 10.1.2.3:22")]
    [InlineData("debug1: userauth-request for user ltb service ssh-connection method publickey [preauth]", "Attempted")]
    [InlineData("debug1: server_input_channel_open: ctype direct-tcpip rchan 0 win 2097152 max 32768", "")]
    [InlineData("Connection closed by authenticating user ltb UNKNOWN port 65535 [preauth]", "")]
    public void Reads_logins_and_forwardings_in_sshds_log(string line, string expected)
    {
        var text = SshdLog.Parse(line) switch
        {
            SshdEvent.LoggedIn l => $"LoggedIn {l.Fingerprint}",
            SshdEvent.Forwarded f => $"Forwarded {f.Host}:{f.Port}",
            SshdEvent.ForwardRefused r => $"ForwardRefused {r.Host}:{r.Port}",
            SshdEvent.Attempted => "Attempted",
            _ => "",
        };
        Assert.Equal(expected, text);
    }
}
