namespace Ltb.Server.Auth;

/// <summary>The three roles. A user holds one or more; what each may do is decided per resource by its authorizer.</summary>
public static class LtbRoles
{
    /// <summary>Everything.</summary>
    public const string Admin = "admin";
    /// <summary>Templates, reservations for their groups, read access to their groups' labs; manages their groups.</summary>
    public const string Instructor = "instructor";
    /// <summary>Their own labs and the templates shared with them.</summary>
    public const string Student = "student";

    public static IReadOnlyList<string> All { get; } = [Admin, Instructor, Student];

    public static bool IsKnown(string role) => All.Contains(role, StringComparer.Ordinal);
}
