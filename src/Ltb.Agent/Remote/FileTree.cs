namespace Ltb.Agent.Remote;

/// <summary>
/// A lab's folders, handled without ever following a symbolic link: a node may write links into a bind (its own
/// folder, mounted read-write), and LTB runs as root. Every entry is looked at as it is (lstat:
/// <see cref="FileSystemInfo.LinkTarget"/>), never through what it points to.
/// </summary>
public static class FileTree
{
    /// <summary>
    /// The regular files under <paramref name="root"/> (relative paths with '/'), folders first in each folder. A link
    /// or any other special file is refused, naming it: what LTB wrote itself into a fresh folder has none.
    /// </summary>
    public static IEnumerable<(string Relative, FileSystemInfo Entry)> Walk(string root)
    {
        var pending = new Stack<DirectoryInfo>();
        pending.Push(new DirectoryInfo(root));
        while (pending.Count > 0)
        {
            var dir = pending.Pop();
            foreach (var entry in dir.EnumerateFileSystemInfos().OrderBy(e => e.Name, StringComparer.Ordinal))
            {
                var relative = Path.GetRelativePath(root, entry.FullName).Replace(Path.DirectorySeparatorChar, '/');
                if (entry.LinkTarget is not null)
                {
                    throw new IOException($"'{relative}' is a symbolic link; LTB does not follow links in a lab's files");
                }
                if (entry is DirectoryInfo sub)
                {
                    yield return (relative, sub);
                    pending.Push(sub);
                }
                else if (entry is FileInfo file && (file.Attributes & (FileAttributes.Device | FileAttributes.ReparsePoint)) == 0)
                {
                    yield return (relative, file);
                }
                else
                {
                    throw new IOException($"'{relative}' is not a regular file or folder; a lab's files are plain files");
                }
            }
        }
    }

    /// <summary>
    /// Deletes a folder and everything in it; a link inside is removed itself, never what it points to (a node may have
    /// planted one aiming at the host's files). Nothing there: nothing to do.
    /// </summary>
    public static void Delete(string path)
    {
        var top = new DirectoryInfo(path);
        if (!top.Exists && top.LinkTarget is null)
        {
            return;
        }
        if (top.LinkTarget is not null)
        {
            File.Delete(path); // unlink(2): the link goes, its target stays
            return;
        }
        foreach (var entry in top.EnumerateFileSystemInfos())
        {
            if (entry is DirectoryInfo sub && entry.LinkTarget is null)
            {
                Delete(sub.FullName);
            }
            else
            {
                File.Delete(entry.FullName);
            }
        }
        Directory.Delete(path, recursive: false);
    }

    /// <summary>Whether <paramref name="path"/> is <paramref name="root"/> or lies under it (by name: no file is looked at).</summary>
    public static bool IsUnder(string path, string root)
    {
        var full = Path.GetFullPath(path);
        var dir = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root));
        return full == dir || full.StartsWith(dir + Path.DirectorySeparatorChar, StringComparison.Ordinal);
    }

    /// <summary>The first-level folder under <paramref name="root"/> that <paramref name="path"/> lies in; null when outside or the root.</summary>
    public static string? TopFolder(string path, string root)
    {
        if (!IsUnder(path, root))
        {
            return null;
        }
        var relative = Path.GetRelativePath(root, path);
        return relative == "." ? null : relative.Split(Path.DirectorySeparatorChar)[0];
    }
}
