using System.CommandLine;
using Ltb.Server.Hosting;

namespace Ltb.Cli.Commands;

/// <summary>`ltb admin ...`: maintenance run on the server machine itself, against the server's data (no API, no sign-in).</summary>
internal static class AdminCommands
{
    public static Command Create()
    {
        var admin = new Command("admin", "Maintenance on the server machine, with direct access to the server's data folder or database");
        admin.Subcommands.Add(ResetPassword());
        return admin;
    }

    private static Command ResetPassword()
    {
        var store = new ServeCommand.StoreOptions();
        var user = new Option<string>("--user") { Description = "The account (default: admin)" };
        var stdin = new Option<bool>("--password-stdin") { Description = "Read the new password from standard input instead of generating one" };
        var reset = new Command("reset-password",
            "Set a new password for an account (a lost admin password): generated and printed unless given on standard input; " +
            "unlocks the account and revokes its tokens. The server may keep running.")
        {
            user, stdin,
        };
        store.AddTo(reset);
        reset.SetAction(async (parse, ct) =>
        {
            if (store.Read(parse, out var error) is not { } options)
            {
                return ServeCommand.Fail(error!);
            }
            string? password = null;
            if (parse.GetValue(stdin))
            {
                password = Console.In.ReadLine();
                if (string.IsNullOrEmpty(password))
                {
                    return ServeCommand.Fail("no password on standard input (--password-stdin)");
                }
            }
            PasswordReset.Outcome outcome;
            try
            {
                outcome = await PasswordReset.RunAsync(options, parse.GetValue(user) ?? options.AdminUserName, password, ct);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                return ServeCommand.Fail(e.GetBaseException().Message);
            }
            Console.WriteLine(outcome.Generated
                ? $"New password of '{outcome.UserName}': {outcome.Password}"
                : $"Set the password of '{outcome.UserName}'");
            if (outcome.PasswordFile is { } file)
            {
                Console.WriteLine($"  (kept in {file} until the admin changes it; ltb serve prints it at start)");
            }
            Console.WriteLine("  The account is unlocked and its tokens are revoked: sign in again with ltb login.");
            return 0;
        });
        return reset;
    }
}
