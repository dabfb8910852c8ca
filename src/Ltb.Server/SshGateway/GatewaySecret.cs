using System.Security.Cryptography;
using System.Text;

namespace Ltb.Server.SshGateway;

/// <summary>
/// What proves that a request comes from this server's own gateway programs (the key lookup and the session command
/// sshd runs): 256 random bits made at each start, kept in memory and in a file only root and the gateway account read.
/// With it, `Authorization: LtbGateway KEYID SECRET` acts as the owner of SSH key KEYID
/// (<see cref="Auth.GatewayAuthenticationHandler"/>); without it a key id is worth nothing.
/// </summary>
public sealed class GatewaySecret
{
    public string Value { get; } = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    public bool Matches(string? presented) =>
        presented is not null && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(presented), Encoding.ASCII.GetBytes(Value));
}
