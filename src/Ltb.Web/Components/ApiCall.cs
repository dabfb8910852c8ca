using Ltb.Client;
using MudBlazor;

namespace Ltb.Web.Components;

/// <summary>Runs an API call for a page and shows its error in words (the API's problem detail) instead of failing the circuit.</summary>
public static class ApiCall
{
    public static async Task<bool> TryAsync(ISnackbar snackbar, Func<Task> call, string? done = null)
    {
        try
        {
            await call();
            if (done is not null)
            {
                snackbar.Add(done, Severity.Success);
            }
            return true;
        }
        catch (Exception e) when (e is LtbApiException or HttpRequestException)
        {
            snackbar.Add(e.Message, Severity.Error);
            return false;
        }
    }
}
