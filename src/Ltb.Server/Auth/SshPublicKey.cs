using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Ltb.Server.Auth;

/// <summary>
/// One line of an OpenSSH public key file, checked: a known algorithm, valid base64, and a key blob that names the same
/// algorithm. The fingerprint is computed as `ssh-keygen -l` prints it (SHA256:base64 without padding).
/// </summary>
public sealed record SshPublicKey(string Algorithm, string Text, string Comment, string Fingerprint)
{
    private static readonly HashSet<string> Algorithms = new(StringComparer.Ordinal)
    {
        "ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
        "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com",
    };

    public static bool TryParse(string? line, out SshPublicKey key, out string error)
    {
        key = null!;
        var parts = (line ?? "").Trim().Split((char[]?)null, 3, StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length < 2)
        {
            error = "is not an OpenSSH public key: expected \"ALGORITHM BASE64 [COMMENT]\", as in ~/.ssh/id_ed25519.pub";
            return false;
        }
        if (!Algorithms.Contains(parts[0]))
        {
            error = $"'{Truncate(parts[0])}' is not a supported key type ({string.Join(", ", Algorithms.Order())})";
            return false;
        }
        byte[] blob;
        try
        {
            blob = Convert.FromBase64String(parts[1]);
        }
        catch (FormatException)
        {
            error = "the key data is not valid base64";
            return false;
        }
        if (blob.Length is < 4 or > 8192 || BlobAlgorithm(blob) != parts[0])
        {
            error = $"the key data is not a {parts[0]} key";
            return false;
        }
        var fingerprint = "SHA256:" + Convert.ToBase64String(SHA256.HashData(blob)).TrimEnd('=');
        key = new SshPublicKey(parts[0], $"{parts[0]} {parts[1]}", parts.Length > 2 ? parts[2].Trim() : "", fingerprint);
        error = "";
        return true;
    }

    private static string? BlobAlgorithm(byte[] blob)
    {
        var length = BinaryPrimitives.ReadUInt32BigEndian(blob);
        return length > 64 || length + 4 > blob.Length ? null : Encoding.ASCII.GetString(blob, 4, (int)length);
    }

    private static string Truncate(string s) => s.Length <= 40 ? s : s[..40] + "...";
}
