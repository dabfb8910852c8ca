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
        admin.Subcommands.Add(Backup());
        admin.Subcommands.Add(Restore());
        return admin;
    }

    private static Option<string> VmImages(string what) => new("--vm-images")
    {
        Description = $"{what} this VM image library too (e.g. /var/lib/ltb/vm-images)",
    };

    private static Command Backup()
    {
        var store = new ServeCommand.StoreOptions();
        var file = new Argument<string>("FILE") { Description = "The archive to write (a gzipped tar)" };
        var vmImages = VmImages("Back up");
        var backup = new Command("backup",
            "Back up the server while it runs: the database (SQLite's online backup, or pg_dump), then the whole data folder " +
            "(lab files, snapshots, SSH gateway keys) into one archive")
        {
            file, vmImages,
        };
        store.AddTo(backup);
        backup.SetAction(async (parse, ct) =>
        {
            if (store.Read(parse, out var error) is not { } options)
            {
                return ServeCommand.Fail(error!);
            }
            try
            {
                var done = await ServerBackup.BackupAsync(options, Path.GetFullPath(parse.GetValue(file)!), parse.GetValue(vmImages), ct);
                Console.WriteLine($"backed up the {done.Manifest.Database.ToString().ToLowerInvariant()} database and {done.Files} file(s) " +
                    $"into {parse.GetValue(file)} ({done.Bytes / 1024.0 / 1024.0:0.0} MiB)");
                return 0;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                return ServeCommand.Fail($"the backup failed: {e.GetBaseException().Message}");
            }
        });
        return backup;
    }

    private static Command Restore()
    {
        var store = new ServeCommand.StoreOptions();
        var file = new Argument<string>("FILE") { Description = "An archive of ltb admin backup" };
        var vmImages = VmImages("Restore");
        var force = new Option<bool>("--force") { Description = "Replace what the data folder (and VM image library) holds instead of refusing" };
        var restore = new Command("restore",
            "Restore a backup into a stopped server: the data folder (empty, or --force) and the database the settings name " +
            "(PostgreSQL: it must exist; what it holds is replaced). The next ltb serve migrates it if it is older.")
        {
            file, vmImages, force,
        };
        store.AddTo(restore);
        restore.SetAction(async (parse, ct) =>
        {
            if (store.Read(parse, out var error) is not { } options)
            {
                return ServeCommand.Fail(error!);
            }
            try
            {
                var m = await ServerBackup.RestoreAsync(options, Path.GetFullPath(parse.GetValue(file)!), parse.GetValue(vmImages),
                    parse.GetValue(force), ct);
                Console.WriteLine($"restored the backup of {m.CreatedAt:yyyy-MM-dd HH:mm:ss}Z (LTB {m.Version}) into {options.DataDirectory}; " +
                    "start the server");
                return 0;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                return ServeCommand.Fail($"the restore failed: {e.GetBaseException().Message}");
            }
        });
        return restore;
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
