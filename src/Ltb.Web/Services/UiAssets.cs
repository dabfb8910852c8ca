using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.FileProviders;

namespace Ltb.Web.Services;

/// <summary>
/// The UI's browser files, embedded in this assembly at build time (Ltb.Web.csproj): the esbuild bundle of client/
/// (xterm.js, cytoscape.js, CodeMirror 6), MudBlazor's stylesheet and script, Blazor's blazor.web.js. Served before
/// authentication (they hold nothing secret; the sign-in page needs them) with a cache lifetime bounded by the version
/// query each page adds.
/// </summary>
public static class UiAssets
{
    /// <summary>Changes with every build, so a browser never keeps a stale bundle: pages link FILE?v=Version.</summary>
    public static readonly string Version =
        typeof(UiAssets).Assembly.ManifestModule.ModuleVersionId.ToString("N")[..12];

    public static IApplicationBuilder UseLtbUiAssets(this IApplicationBuilder app)
    {
        var files = new EmbeddedFileProvider(typeof(UiAssets).Assembly, "ui");
        var types = new FileExtensionContentTypeProvider();
        app.UseStaticFiles(new StaticFileOptions
        {
            RequestPath = "/ui",
            FileProvider = files,
            ContentTypeProvider = types,
            OnPrepareResponse = c => c.Context.Response.Headers.CacheControl = "public, max-age=86400",
        });
        // Blazor's script at the address its loader expects.
        app.UseStaticFiles(new StaticFileOptions
        {
            RequestPath = "/_framework",
            FileProvider = new FilteredFiles(files, "blazor.web.js"),
            OnPrepareResponse = c => c.Context.Response.Headers.CacheControl = "no-cache",
        });
        return app;
    }

    /// <summary>Only the named files of another provider.</summary>
    private sealed class FilteredFiles(IFileProvider inner, params string[] names) : IFileProvider
    {
        public IFileInfo GetFileInfo(string subpath) =>
            names.Contains(subpath.TrimStart('/')) ? inner.GetFileInfo(subpath) : new NotFoundFileInfo(subpath);

        public IDirectoryContents GetDirectoryContents(string subpath) => NotFoundDirectoryContents.Singleton;

        public Microsoft.Extensions.Primitives.IChangeToken Watch(string filter) => inner.Watch(filter);
    }
}
