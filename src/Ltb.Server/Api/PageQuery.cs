using Microsoft.AspNetCore.Mvc;

namespace Ltb.Server.Api;

/// <summary>
/// `?page=1&amp;pageSize=50` as a handler parameter (<c>[AsParameters] PageQuery paging</c>, so the OpenAPI document lists both
/// query values); out-of-range numbers are answered with a 400 by <see cref="Prologue.Filter"/> before the handler runs.
/// </summary>
public sealed class PageQuery : IPrologue
{
    [FromQuery(Name = "page")]
    public int? Page { get; init; }

    [FromQuery(Name = "pageSize")]
    public int? PageSize { get; init; }

    /// <summary>The page asked for, in range (the filter has refused the others).</summary>
    public PageRequest Request => PageRequest.From(Page, PageSize).Request
        ?? throw new InvalidOperationException("an invalid page reached the handler: the endpoint is outside the API group");

    public IResult? Refusal => PageRequest.From(Page, PageSize) is { Request: null, Error: var error } ? Problems.Invalid("page", error!) : null;
}
