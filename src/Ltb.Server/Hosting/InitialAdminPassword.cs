using Ltb.Server.Data;
using Microsoft.AspNetCore.Identity;

namespace Ltb.Server.Hosting;

/// <summary>
/// The generated password of the admin account, kept in <c>DATA/initial-admin-password</c> (mode 0600, the password
/// alone on one line, as Jenkins keeps its initialAdminPassword) until the admin changes it, so that `ltb serve` and
/// scripts/up.sh can show it on every start and not only on the first. Anyone who can read the data folder can read the
/// database too, so the file gives away nothing new. A password the admin chose (LTB_ADMIN_PASSWORD, a change through
/// the API) is never written. `ltb admin reset-password` writes a new one here for a lost password.
/// </summary>
public static class InitialAdminPassword
{
    public const string FileName = "initial-admin-password";

    public static string PathOf(LtbServerOptions options) => Path.Combine(options.DataDirectory, FileName);

    public static void Write(LtbServerOptions options, string password)
    {
        var path = PathOf(options);
        File.Delete(path);
        // Created with 0600 from the start: there is no moment at which another user could open it.
        using var file = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        });
        using var writer = new StreamWriter(file);
        writer.Write(password + "\n");
    }

    /// <summary>The password in the file, or null when there is none.</summary>
    public static string? Read(LtbServerOptions options)
    {
        var path = PathOf(options);
        return File.Exists(path) ? File.ReadAllText(path).Trim() is { Length: > 0 } p ? p : null : null;
    }

    /// <summary>The admin changed the password (or it was reset by another admin): the file says nothing true any more.</summary>
    public static void Discard(LtbServerOptions options, LtbUser user)
    {
        if (string.Equals(user.UserName, options.AdminUserName, StringComparison.Ordinal))
        {
            File.Delete(PathOf(options));
        }
    }

    /// <summary>At start: a file whose password is no longer the admin's (changed while the server was down) goes.</summary>
    public static async Task DiscardIfStaleAsync(UserManager<LtbUser> users, LtbServerOptions options)
    {
        if (Read(options) is not { } password)
        {
            return;
        }
        var admin = await users.FindByNameAsync(options.AdminUserName);
        if (admin is null || !await users.CheckPasswordAsync(admin, password))
        {
            File.Delete(PathOf(options));
        }
    }
}
