using System.Text.Json;
using Ltb.Server.Api;
using Ltb.Server.Data;
using Ltb.Server.Labs;
using Ltb.Topology.Catalog;
using Microsoft.EntityFrameworkCore;

namespace Ltb.Server.Templates;

/// <summary>A validated template version ready to store: the loaded topology and the files beside it.</summary>
public sealed record TemplateUpload(LoadedTopology Topology, IReadOnlyList<(string Path, byte[] Content)> Files);

/// <summary>
/// The template store's file side. An upload lands in a staging folder (LabSources' checks of paths and sizes), is
/// loaded there with the effective catalog like a deployment would be, and is then kept in the database: the topology
/// byte for byte, its model, its files. Deploying a template writes them back into the lab's folder.
/// </summary>
public static class TemplateStore
{
    public static string StagingDirectory(string dataDirectory) =>
        Path.Combine(dataDirectory, "uploads", Guid.NewGuid().ToString("N"));

    /// <summary>Loads the topology staged in <paramref name="directory"/> and reads the files beside it.</summary>
    public static TemplateUpload Load(string directory, string fileName, Ltb.Topology.LoadOptions options)
    {
        var topology = LabSources.LoadTopology(directory, fileName, options);
        var files = Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(directory, f).Replace(Path.DirectorySeparatorChar, '/'))
            .Where(p => p != fileName)
            .Order(StringComparer.Ordinal)
            .Select(p => (p, File.ReadAllBytes(Path.Combine(directory, p))))
            .ToList();
        return new TemplateUpload(topology, files);
    }

    /// <summary>Adds version <paramref name="number"/> of <paramref name="template"/> (and its files) to the context.</summary>
    public static LabTemplateVersion AddVersion(LtbDbContext db, LabTemplate template, int number, TemplateUpload upload,
        Guid? createdById, string createdByName, DateTimeOffset now)
    {
        var t = upload.Topology;
        var version = new LabTemplateVersion
        {
            TemplateId = template.Id,
            Number = number,
            FileName = t.FileName,
            Format = t.Format,
            LabName = t.Lab?.Name ?? "",
            Source = t.Source,
            ModelJson = t.ModelJson,
            WarningsJson = JsonSerializer.Serialize(t.Diagnostics.Select(TopologyProblems.ToDto), JsonSerializerOptions.Web),
            CreatedById = createdById,
            CreatedByName = createdByName,
            CreatedAt = now,
        };
        db.LabTemplateVersions.Add(version);
        foreach (var (path, content) in upload.Files)
        {
            db.LabTemplateFiles.Add(new LabTemplateFile { TemplateId = template.Id, VersionNumber = number, Path = path, Content = content });
        }
        template.CurrentVersion = number;
        template.Format = t.Format;
        template.UpdatedAt = now;
        return version;
    }

    /// <summary>Writes a stored version (topology and files) into <paramref name="directory"/>; answers the topology's file name.</summary>
    public static async Task<string> WriteAsync(LtbDbContext db, LabTemplateVersion version, string directory, CancellationToken ct)
    {
        Directory.CreateDirectory(directory);
        var root = Path.GetFullPath(directory) + Path.DirectorySeparatorChar;
        var files = await db.LabTemplateFiles.AsNoTracking()
            .Where(f => f.TemplateId == version.TemplateId && f.VersionNumber == version.Number).ToListAsync(ct);
        foreach (var (path, content) in files.Select(f => (f.Path, f.Content)).Prepend((version.FileName, version.Source)))
        {
            // Checked at upload already; checked again because the folder is a host path that nodes mount.
            var target = Path.GetFullPath(Path.Combine(root, path));
            if (LabSources.CheckPath(path) is not null || !target.StartsWith(root, StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"template file '{path}' would land outside the lab's folder");
            }
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            await File.WriteAllBytesAsync(target, content, ct);
        }
        return version.FileName;
    }

    public static string Name(TemplateVisibility v) => v.ToString().ToLowerInvariant();

    /// <summary>private (also when absent), group, everyone; null for anything else.</summary>
    public static TemplateVisibility? ParseVisibility(string? text) => text switch
    {
        null or "" or "private" => TemplateVisibility.Private,
        "group" => TemplateVisibility.Group,
        "everyone" => TemplateVisibility.Everyone,
        _ => null,
    };

    public static void DeleteFolder(string path)
    {
        if (Directory.Exists(path))
        {
            Directory.Delete(path, recursive: true);
        }
    }
}
