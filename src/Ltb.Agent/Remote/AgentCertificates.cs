using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Ltb.Agent.Remote;

/// <summary>TLS between controller and agents with a private CA (docs/operations.md shows how to issue the files with openssl).</summary>
public static class AgentCertificates
{
    /// <summary>A validation that accepts a peer whose certificate chains to this CA (and names the host it was asked for).</summary>
    public static RemoteCertificateValidationCallback TrustOnly(string caPem)
    {
        var ca = X509Certificate2.CreateFromPem(caPem);
        return (_, certificate, _, errors) =>
        {
            if (certificate is null || errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch)
                || errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable))
            {
                return false;
            }
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(ca);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            using var peer = new X509Certificate2(certificate);
            return chain.Build(peer);
        };
    }

    /// <summary>The agent's own certificate with its key, from PEM files.</summary>
    public static X509Certificate2 Load(string certificateFile, string keyFile)
    {
        using var pem = X509Certificate2.CreateFromPemFile(certificateFile, keyFile);
        // Kestrel needs the key in a form the TLS stack can use on every platform: round-trip through PKCS#12.
        return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
    }
}
