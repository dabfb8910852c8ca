using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Ltb.Server.Data;

namespace Ltb.Cli.Commands;

/// <summary>
/// Checks of `ltb serve` and `ltb agent` settings made before anything starts, so that a wrong setting stops the process
/// at once with a message that names it (option and environment variable) and says what would be valid, instead of an
/// exception from deep inside the host minutes later. Each check returns null when the value is fine, else the message.
/// </summary>
internal static class SettingChecks
{
    /// <summary>A URL a server listens on: http or https, a host, a port 0-65535 (0: a free one).</summary>
    public static string? ListenUrl(string setting, string value)
    {
        if (!Uri.TryCreate(value, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https") || url.Host.Length == 0)
        {
            return $"{setting} '{value}' is not a URL to listen on: give http://ADDRESS:PORT or https://ADDRESS:PORT " +
                $"(e.g. http://0.0.0.0:8480; port 0 picks a free one)";
        }
        if (url.AbsolutePath != "/" || url.Query.Length > 0)
        {
            return $"{setting} '{value}' has a path; give only scheme, address and port (e.g. http://0.0.0.0:8480)";
        }
        return null;
    }

    /// <summary>A URL the process calls (the controller): http or https with a host.</summary>
    public static string? CalledUrl(string setting, string? value, string example)
    {
        if (value is null || !Uri.TryCreate(value, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https") || url.Host.Length == 0)
        {
            return value is null
                ? $"give {setting}, e.g. {example}"
                : $"{setting} '{value}' is not an http:// or https:// URL (e.g. {example})";
        }
        return url.UserInfo.Length > 0 ? $"{setting} '{url.GetLeftPart(UriPartial.Scheme)}...' carries a user name or password: give the URL alone" : null;
    }

    /// <summary>The database connection string parses for its provider (and names a server for PostgreSQL).</summary>
    public static string? ConnectionString(DatabaseProvider provider, string? value)
    {
        const string setting = "--connection-string (LTB_CONNECTION_STRING)";
        if (provider == DatabaseProvider.Postgres && value is null)
        {
            return $"--database postgres needs {setting}, e.g. Host=db;Database=ltb;Username=ltb;Password=...";
        }
        if (value is null)
        {
            return null;
        }
        try
        {
            if (provider == DatabaseProvider.Postgres)
            {
                var pg = new Npgsql.NpgsqlConnectionStringBuilder(value);
                return string.IsNullOrEmpty(pg.Host) ? $"{setting} names no server: add Host=NAME (e.g. Host=db;Database=ltb;Username=ltb;Password=...)" : null;
            }
            var sqlite = new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder(value);
            return string.IsNullOrEmpty(sqlite.DataSource) ? $"{setting} names no database file: add Data Source=PATH" : null;
        }
        catch (ArgumentException e)
        {
            // The parser's message names the key but never echoes the string (it may hold a password).
            return $"{setting} is not a {(provider == DatabaseProvider.Postgres ? "PostgreSQL (Npgsql)" : "SQLite")} connection string: {e.Message}";
        }
    }

    /// <summary>A folder the process keeps data in: created when missing, and writable by this user.</summary>
    public static string? WritableFolder(string setting, string path)
    {
        try
        {
            Directory.CreateDirectory(path);
            var probe = Path.Combine(path, $".ltb-write-check-{Environment.ProcessId}");
            File.WriteAllText(probe, "");
            File.Delete(probe);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return $"{setting} '{path}' is not a folder this user ({Environment.UserName}) can write: {e.Message} " +
                "(give a writable folder, or create it and give the service user write access)";
        }
    }

    /// <summary>A PEM file of one or more certificates (a CA).</summary>
    public static string? CaFile(string setting, string path)
    {
        if (!File.Exists(path))
        {
            return $"{setting}: the CA file '{path}' does not exist (give a PEM file of the CA certificate, e.g. ca.crt)";
        }
        try
        {
            var all = new X509Certificate2Collection();
            all.ImportFromPemFile(path);
            return all.Count == 0 ? $"{setting}: '{path}' holds no PEM certificate (-----BEGIN CERTIFICATE-----)" : null;
        }
        catch (CryptographicException e)
        {
            return $"{setting}: '{path}' is not a PEM certificate file: {e.Message}";
        }
    }

    /// <summary>A PEM certificate with its private key (the agent's TLS identity): both readable and belonging together.</summary>
    public static string? CertificateAndKey(string? cert, string? key)
    {
        if (cert is null && key is null)
        {
            return null;
        }
        if (cert is null || key is null)
        {
            return "--cert and --key go together: give both PEM files (the agent's certificate and its private key), or neither";
        }
        foreach (var (setting, file) in new[] { ("--cert", cert), ("--key", key) })
        {
            if (!File.Exists(file))
            {
                return $"{setting}: the file '{file}' does not exist";
            }
        }
        try
        {
            using var loaded = X509Certificate2.CreateFromPemFile(cert, key);
            return loaded.NotAfter < DateTime.Now ? $"--cert: the certificate in '{cert}' expired on {loaded.NotAfter:yyyy-MM-dd}: issue a new one" : null;
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            return $"--cert/--key: '{cert}' and '{key}' are not a PEM certificate and its private key: {e.Message}";
        }
    }
}
