namespace Ltb.Server.Caching;

/// <summary>What a change to the database makes stale in the read caches.</summary>
public enum ChangeKind
{
    /// <summary>A user's account, roles or group memberships: every token of the user.</summary>
    User,
    /// <summary>One token (revoked, expired early, deleted).</summary>
    Token,
    /// <summary>A lab's row or its events.</summary>
    Lab,
    /// <summary>The lab hosts (names and states shown with every lab).</summary>
    Hosts,
    /// <summary>Everything (a group deleted, the change feed lost and found again).</summary>
    All,
}

public readonly record struct Change(ChangeKind Kind, Guid Id)
{
    public static readonly Change Everything = new(ChangeKind.All, Guid.Empty);

    public static Change User(Guid id) => new(ChangeKind.User, id);

    public static Change Token(Guid id) => new(ChangeKind.Token, id);

    public static Change Lab(Guid id) => new(ChangeKind.Lab, id);

    public static readonly Change HostsChanged = new(ChangeKind.Hosts, Guid.Empty);

    /// <summary>"u:ID", "t:ID", "l:ID", "h", "*": the notification payload between replicas.</summary>
    public string Encode() => Kind switch
    {
        ChangeKind.User => "u:" + Id.ToString("N"),
        ChangeKind.Token => "t:" + Id.ToString("N"),
        ChangeKind.Lab => "l:" + Id.ToString("N"),
        ChangeKind.Hosts => "h",
        _ => "*",
    };

    /// <summary>Anything not understood (a newer replica's kind) is read as "everything": stale is never the outcome.</summary>
    public static Change Decode(string text)
    {
        if (text == "h")
        {
            return HostsChanged;
        }
        if (text.Length == 34 && text[1] == ':' && Guid.TryParseExact(text[2..], "N", out var id))
        {
            return text[0] switch
            {
                'u' => User(id),
                't' => Token(id),
                'l' => Lab(id),
                _ => Everything,
            };
        }
        return Everything;
    }

    public override string ToString() => Encode();
}
