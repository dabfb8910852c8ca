using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Ltb.Testing;

namespace Ltb.Cli.Tests.Deploy;

/// <summary>
/// `ltb serve` and `ltb agent` check their settings before they start: a wrong one stops the process at once (exit 1)
/// with a message naming the setting and what would be valid, and nothing is started or left listening.
/// </summary>
public sealed class SettingsValidationTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ltb-settings-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private async Task<string> FailsAsync(IReadOnlyDictionary<string, string>? env, params string[] args)
    {
        // A data folder of the test's own, so a check that wrongly passed could not touch the user's.
        var all = new Dictionary<string, string> { ["LTB_DATA"] = Path.Combine(_dir, "data"), ["LTB_AGENT_DATA"] = Path.Combine(_dir, "agent") };
        foreach (var (k, v) in env ?? new Dictionary<string, string>())
        {
            all[k] = v;
        }
        var result = await HostCommand.RunAsync(Path.Combine(Repo.Root, "ltb"), args, TimeSpan.FromMinutes(5), all);
        Assert.True(result.ExitCode == 1, $"ltb {string.Join(' ', args)} exited {result.ExitCode}: {result.Stdout} {result.Stderr}");
        Assert.DoesNotContain("is listening", result.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", result.Stderr, StringComparison.Ordinal);
        return result.Stderr;
    }

    private Task<string> FailsAsync(params string[] args) => FailsAsync(null, args);

    [Theory]
    [InlineData("http://0.0.0.0:99999", "--listen (LTB_LISTEN) 'http://0.0.0.0:99999' is not a URL to listen on: give http://ADDRESS:PORT")]
    [InlineData("0.0.0.0:8480", "--listen (LTB_LISTEN) '0.0.0.0:8480' is not a URL to listen on")]
    [InlineData("ftp://0.0.0.0:21", "is not a URL to listen on")]
    [InlineData("http://0.0.0.0:8480/ltb", "has a path; give only scheme, address and port")]
    public async Task Serve_refuses_a_listen_address_that_is_not_a_url(string listen, string expected) =>
        Assert.Contains(expected, await FailsAsync("serve", "--listen", listen, "--ssh-port", "off"));

    [Theory]
    [InlineData("3")]
    [InlineData("forever")]
    public async Task Serve_refuses_a_usage_retention_shorter_than_a_week_or_not_a_number(string days) =>
        Assert.Contains($"--usage-retention (LTB_USAGE_RETENTION) is a number of days from 7 to 3650, not '{days}'",
            await FailsAsync(new Dictionary<string, string> { ["LTB_USAGE_RETENTION"] = days }, "serve", "--ssh-port", "off"));

    [Theory]
    [InlineData("0")]
    [InlineData("many")]
    public async Task Serve_refuses_a_sign_in_rate_that_is_not_1_to_10000_a_minute(string rate) =>
        Assert.Contains($"LTB_SIGN_IN_RATE is the sign-ins allowed per minute from one address, 1 to 10000, not '{rate}'",
            await FailsAsync(new Dictionary<string, string> { ["LTB_SIGN_IN_RATE"] = rate }, "serve", "--ssh-port", "off"));

    [Fact]
    public async Task Serve_names_the_valid_database_providers() =>
        Assert.Contains("'mysql' is not a database (use sqlite or postgres)", await FailsAsync("serve", "--database", "mysql"));

    [Fact]
    public async Task Postgres_without_a_connection_string_says_what_to_give()
    {
        var error = await FailsAsync("serve", "--database", "postgres");
        Assert.Contains("--database postgres needs --connection-string (LTB_CONNECTION_STRING), e.g. Host=db;Database=ltb", error);
    }

    [Fact]
    public async Task A_malformed_connection_string_is_named_without_echoing_its_password()
    {
        var error = await FailsAsync(new Dictionary<string, string> { ["LTB_CONNECTION_STRING"] = "Host=db;Password=s3cret;Bogus Key=1" },
            "serve", "--database", "postgres");
        Assert.Contains("--connection-string (LTB_CONNECTION_STRING) is not a PostgreSQL (Npgsql) connection string", error);
        Assert.DoesNotContain("s3cret", error, StringComparison.Ordinal);
        var noHost = await FailsAsync(new Dictionary<string, string> { ["LTB_CONNECTION_STRING"] = "Database=ltb;Username=ltb" },
            "serve", "--database", "postgres");
        Assert.Contains("names no server: add Host=NAME", noHost);
    }

    [Fact]
    public async Task A_data_folder_the_user_cannot_write_is_named()
    {
        var file = Path.Combine(_dir, "a-file");
        await File.WriteAllTextAsync(file, "", TestContext.Current.CancellationToken);
        var error = await FailsAsync("serve", "--data", Path.Combine(file, "data"), "--ssh-port", "off");
        Assert.Contains($"--data (LTB_DATA) '{Path.Combine(file, "data")}' is not a folder this user", error);
        var agent = await FailsAsync(new Dictionary<string, string> { ["LTB_HOST_TOKEN"] = "ltbh_x" },
            "agent", "--controller", "http://127.0.0.1:1", "--data", Path.Combine(file, "agent"));
        Assert.Contains("--data (LTB_AGENT_DATA)", agent);
    }

    [Fact]
    public async Task The_agents_ca_must_be_a_pem_certificate_file()
    {
        var missing = await FailsAsync(new Dictionary<string, string> { ["LTB_AGENT_CA"] = Path.Combine(_dir, "nope.crt") }, "serve", "--ssh-port", "off");
        Assert.Contains($"LTB_AGENT_CA: the CA file '{Path.Combine(_dir, "nope.crt")}' does not exist", missing);
        var garbage = Path.Combine(_dir, "garbage.crt");
        await File.WriteAllTextAsync(garbage, "not a certificate\n", TestContext.Current.CancellationToken);
        var wrong = await FailsAsync(new Dictionary<string, string> { ["LTB_AGENT_CA"] = garbage }, "serve", "--ssh-port", "off");
        Assert.Contains($"LTB_AGENT_CA: '{garbage}' holds no PEM certificate", wrong);
    }

    [Fact]
    public async Task An_oidc_authority_must_be_a_url() =>
        Assert.Contains("LTB_OIDC_AUTHORITY 'sso.example.org' is not an http:// or https:// URL",
            await FailsAsync(new Dictionary<string, string> { ["LTB_OIDC_AUTHORITY"] = "sso.example.org", ["LTB_OIDC_CLIENT_ID"] = "ltb" },
                "serve", "--ssh-port", "off"));

    private static readonly Dictionary<string, string> Token = new() { ["LTB_HOST_TOKEN"] = "ltbh_test" };

    [Theory]
    [InlineData("ftp://ltb.example.org", "--controller (LTB_CONTROLLER) 'ftp://ltb.example.org' is not an http:// or https:// URL")]
    [InlineData("ltb.example.org", "is not an http:// or https:// URL (e.g. https://ltb.example.org)")]
    public async Task The_agent_refuses_a_controller_that_is_not_a_url(string controller, string expected) =>
        Assert.Contains(expected, await FailsAsync(Token, "agent", "--controller", controller));

    [Fact]
    public async Task The_agent_refuses_a_listen_port_out_of_range() =>
        Assert.Contains("--listen '0.0.0.0:70000' is not ADDRESS:PORT with a port 1-65535",
            await FailsAsync(Token, "agent", "--controller", "http://127.0.0.1:1", "--listen", "0.0.0.0:70000"));

    [Fact]
    public async Task The_agent_checks_its_certificate_and_key_belong_together()
    {
        var (cert, key) = WriteCertificate("agent");
        var (_, otherKey) = WriteCertificate("other");
        var alone = await FailsAsync(Token, "agent", "--controller", "http://127.0.0.1:1", "--cert", cert);
        Assert.Contains("--cert and --key go together", alone);
        var missing = await FailsAsync(Token, "agent", "--controller", "http://127.0.0.1:1", "--cert", cert, "--key", key + ".gone");
        Assert.Contains($"--key: the file '{key}.gone' does not exist", missing);
        var mismatch = await FailsAsync(Token, "agent", "--controller", "http://127.0.0.1:1", "--cert", cert, "--key", otherKey);
        Assert.Contains($"--cert/--key: '{cert}' and '{otherKey}' are not a PEM certificate and its private key", mismatch);
        var ca = await FailsAsync(Token, "agent", "--controller", "https://127.0.0.1:1", "--controller-ca", key);
        Assert.Contains($"--controller-ca: '{key}' holds no PEM certificate", ca);
    }

    private (string Cert, string Key) WriteCertificate(string name)
    {
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", ec, HashAlgorithmName.SHA256);
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        var certFile = Path.Combine(_dir, $"{name}.crt");
        var keyFile = Path.Combine(_dir, $"{name}.key");
        File.WriteAllText(certFile, cert.ExportCertificatePem());
        File.WriteAllText(keyFile, ec.ExportPkcs8PrivateKeyPem());
        return (certFile, keyFile);
    }
}
