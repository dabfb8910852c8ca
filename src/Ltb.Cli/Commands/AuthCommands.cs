using System.CommandLine;
using Ltb.Cli.Api;
using Ltb.Client;
using Spectre.Console;

namespace Ltb.Cli.Commands;

/// <summary>`ltb login`, `ltb logout`, `ltb whoami`: the command line's session with an LTB server.</summary>
internal static class AuthCommands
{
    private static readonly Option<string> Server = new("--server")
    {
        Description = "The LTB server's URL [env LTB_SERVER; default: the server of the last login]",
    };

    public static Command Login()
    {
        var user = new Option<string>("--user") { Description = "User name [default: your login name]" };
        var passwordStdin = new Option<bool>("--password-stdin") { Description = "Read the password from standard input" };
        var login = new Command("login", $"Sign in to an LTB server and store the token in {CredentialStore.Path} (mode 0600).")
        {
            Server, user, passwordStdin,
        };
        login.SetAction((parse, ct) => Run(async () =>
        {
            var server = ServerConnection.ResolveServer(parse.GetValue(Server));
            var name = parse.GetValue(user) ?? Environment.UserName;
            var password = parse.GetValue(passwordStdin) ? ReadPasswordFromStdin() : PromptPassword(name);
            using var client = new LtbApiClient(server, token: null) { SignInHint = ServerConnection.SignInHint };
            var session = await client.SignInAsync(name, password, ct);
            CredentialStore.Save(new StoredCredentials(server.ToString(), session.Token, session.User.UserName));
            Console.WriteLine($"Signed in to {server} as {session.User.UserName} (roles: {string.Join(", ", session.User.Roles)}); " +
                $"the session ends {session.ExpiresAt:yyyy-MM-dd HH:mm} UTC.");
        }));
        return login;
    }

    public static Command Logout()
    {
        var logout = new Command("logout", "Revoke the stored token on the server and forget it.") { Server };
        logout.SetAction((parse, ct) => Run(async () =>
        {
            var stored = CredentialStore.Load();
            if (stored is null)
            {
                Console.WriteLine("Not signed in.");
                return;
            }
            try
            {
                using var client = new LtbApiClient(ServerConnection.Normalize(stored.Server), stored.Token) { SignInHint = ServerConnection.SignInHint };
                await client.SignOutAsync(ct);
            }
            catch (LtbApiException e) when (e.Status is 0 or 401)
            {
                // Unreachable or already invalid: forgetting the token locally is still what the user asked for.
                Console.Error.WriteLine($"warning: {e.Message}");
            }
            CredentialStore.Delete();
            Console.WriteLine($"Signed out of {stored.Server}.");
        }));
        return logout;
    }

    public static Command WhoAmI()
    {
        var whoami = new Command("whoami", "Show who you are signed in as.") { Server };
        whoami.SetAction((parse, ct) => Run(async () =>
        {
            using var client = ServerConnection.Connect(parse.GetValue(Server));
            var me = await client.GetMeAsync(ct);
            Console.WriteLine($"{me.UserName} (roles: {string.Join(", ", me.Roles)}) at {client.Server}");
        }));
        return whoami;
    }

    /// <summary>Runs a command body; an API error is one line on stderr and exit code 1.</summary>
    private static async Task<int> Run(Func<Task> body)
    {
        try
        {
            await body();
            return 0;
        }
        catch (LtbApiException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
    }

    private static string ReadPasswordFromStdin()
    {
        var password = Console.In.ReadLine();
        return string.IsNullOrEmpty(password)
            ? throw new LtbApiException(0, "no password on standard input (--password-stdin)")
            : password;
    }

    private static string PromptPassword(string user)
    {
        if (Console.IsInputRedirected)
        {
            throw new LtbApiException(0, "standard input is not a terminal: pass the password with --password-stdin");
        }
        return AnsiConsole.Prompt(new TextPrompt<string>($"Password for {Markup.Escape(user)}:").Secret());
    }
}
