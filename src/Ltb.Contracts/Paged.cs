namespace Ltb.Contracts;

/// <summary>One page of a list: the same envelope for every list in the API (`?page=1&amp;pageSize=50`, pages from 1).</summary>
public sealed record Paged<T>(IReadOnlyList<T> Items, int Page, int PageSize, int Total);
