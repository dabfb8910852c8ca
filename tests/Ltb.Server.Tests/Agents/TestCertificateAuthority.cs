using System.Net;
using Ltb.Testing;

namespace Ltb.Server.Tests.Agents;

/// <summary>
/// A private CA made with openssl the way docs/operations.md ("Issue certificates") tells operators to, and agent
/// certificates issued by it for an IP address: so that the tests exercise the documented procedure.
/// </summary>
public sealed class TestCertificateAuthority : IDisposable
{
    private TestCertificateAuthority(string folder) => Folder = folder;

    public string Folder { get; }
    public string CertificateFile => Path.Combine(Folder, "ca.crt");
    private string KeyFile => Path.Combine(Folder, "ca.key");

    public static async Task<TestCertificateAuthority> CreateAsync(string name)
    {
        var ca = new TestCertificateAuthority(Directory.CreateTempSubdirectory("ltb-test-ca-").FullName);
        await OpenSslAsync("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
            "-subj", $"/CN={name}", "-keyout", ca.KeyFile, "-out", ca.CertificateFile);
        return ca;
    }

    /// <summary>A key and a certificate for an agent reached at <paramref name="address"/>: (certificate file, key file).</summary>
    public Task<(string Certificate, string Key)> IssueAsync(string name, IPAddress address) => IssueAsync(name, address.ToString(), $"IP:{address}");

    /// <summary>The same for an agent reached at a DNS name (<paramref name="dnsName"/>).</summary>
    public Task<(string Certificate, string Key)> IssueAsync(string name, string dnsName) => IssueAsync(name, dnsName, $"DNS:{dnsName}");

    private async Task<(string Certificate, string Key)> IssueAsync(string name, string subject, string altName)
    {
        var prefix = Path.Combine(Folder, name);
        await OpenSslAsync("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", $"/CN={subject}",
            "-keyout", prefix + ".key", "-out", prefix + ".csr");
        await File.WriteAllTextAsync(prefix + ".ext", $"subjectAltName={altName}\nextendedKeyUsage=serverAuth\n");
        await OpenSslAsync("x509", "-req", "-in", prefix + ".csr", "-CA", CertificateFile, "-CAkey", KeyFile, "-CAcreateserial",
            "-days", "2", "-extfile", prefix + ".ext", "-out", prefix + ".crt");
        return (prefix + ".crt", prefix + ".key");
    }

    private static async Task OpenSslAsync(params string[] args) =>
        (await HostCommand.RunAsync("openssl", args, TimeSpan.FromSeconds(60))).EnsureSuccess("openssl " + args[0]);

    public void Dispose()
    {
        if (Directory.Exists(Folder))
        {
            Directory.Delete(Folder, recursive: true);
        }
    }
}
