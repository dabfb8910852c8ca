using Microsoft.EntityFrameworkCore;

namespace Ltb.Server.Api;

/// <summary>`?page=1&amp;pageSize=50` (pages count from 1; at most 200 items a page).</summary>
public readonly record struct PageRequest(int Page, int PageSize)
{
    public const int DefaultSize = 50;
    public const int MaxSize = 200;

    /// <summary>Null with a message when the numbers are out of range.</summary>
    public static (PageRequest? Request, string? Error) From(int? page, int? pageSize)
    {
        var p = page ?? 1;
        var s = pageSize ?? DefaultSize;
        if (p < 1)
        {
            return (null, "page counts from 1");
        }
        if (s is < 1 or > MaxSize)
        {
            return (null, $"pageSize must be between 1 and {MaxSize}");
        }
        return (new PageRequest(p, s), null);
    }
}

public static class PagingExtensions
{
    /// <summary>Pages a query, which must be ordered by a unique key so that pages are stable, and maps the rows.</summary>
    public static async Task<Paged<TOut>> ToPageAsync<T, TOut>(this IQueryable<T> query, PageRequest request,
        Func<T, TOut> map, CancellationToken ct)
    {
        var total = await query.CountAsync(ct);
        var rows = await query.Skip((request.Page - 1) * request.PageSize).Take(request.PageSize).ToListAsync(ct);
        return new Paged<TOut>(rows.Select(map).ToList(), request.Page, request.PageSize, total);
    }
}
