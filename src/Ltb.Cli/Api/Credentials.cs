using System.Text.Json;
using Ltb.Client;
using Ltb.Contracts;

namespace Ltb.Cli.Api;

/// <summary>What `ltb login` stores: the server and a token for it.</summary>
public sealed record StoredCredentials(string Server, string Token, string UserName);

/// <summary>
/// ~/.config/ltb/credentials.json (XDG_CONFIG_HOME honoured), readable by its owner only (0600), in a 0700 folder.
/// </summary>
public static class CredentialStore
{
    public static string Path => System.IO.Path.Combine(ConfigDirectory, "credentials.json");

    private static string ConfigDirectory => System.IO.Path.Combine(
        Environment.GetEnvironmentVariable("XDG_CONFIG_HOME") is { Length: > 0 } xdg
            ? xdg
            : System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config"), "ltb");

    public static StoredCredentials? Load()
    {
        try
        {
            return File.Exists(Path) ? JsonSerializer.Deserialize<StoredCredentials>(File.ReadAllText(Path), JsonSerializerOptions.Web) : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public static void Save(StoredCredentials credentials)
    {
        Directory.CreateDirectory(ConfigDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var temp = Path + ".new";
        File.Delete(temp);
        // Created with 0600 from the start: the token is never readable by others, not even for a moment.
        using (var stream = new FileStream(temp, new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        }))
        {
            JsonSerializer.Serialize(stream, credentials, JsonSerializerOptions.Web);
        }
        File.Move(temp, Path, overwrite: true);
    }

    public static bool Delete()
    {
        var existed = File.Exists(Path);
        File.Delete(Path);
        return existed;
    }
}

/// <summary>Which server and token a command uses: --server, then LTB_SERVER / LTB_TOKEN, then the stored login.</summary>
public static class ServerConnection
{
    /// <summary>What a refused sign-in (401) tells the CLI's user to do.</summary>
    public const string SignInHint = "run: ltb login";

    public static Uri ResolveServer(string? option)
    {
        var text = option ?? Env("LTB_SERVER") ?? CredentialStore.Load()?.Server
            ?? ApiConventions.DefaultServerUrl;
        return Normalize(text);
    }

    public static string? ResolveToken(Uri server)
    {
        if (Env("LTB_TOKEN") is { } token)
        {
            return token;
        }
        // A stored token is only sent to the server it was issued by.
        return CredentialStore.Load() is { } stored && Normalize(stored.Server) == server ? stored.Token : null;
    }

    /// <param name="timeout">How long a request may take (null: the client's default; an upload: Infinite).</param>
    public static LtbApiClient Connect(string? serverOption, TimeSpan? timeout = null)
    {
        var server = ResolveServer(serverOption);
        return timeout is { } t
            ? new LtbApiClient(server, ResolveToken(server)) { SignInHint = SignInHint, Timeout = t }
            : new LtbApiClient(server, ResolveToken(server)) { SignInHint = SignInHint };
    }

    private static string? Env(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : null;

    public static Uri Normalize(string text)
    {
        if (!Uri.TryCreate(text.TrimEnd('/') + "/", UriKind.Absolute, out var uri) || (uri.Scheme != "http" && uri.Scheme != "https"))
        {
            throw new LtbApiException(0, $"'{text}' is not a server URL (like {ApiConventions.DefaultServerUrl})");
        }
        return uri;
    }
}
