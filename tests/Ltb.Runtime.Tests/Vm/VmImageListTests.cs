using Ltb.Runtime.Nodes.Vm;

namespace Ltb.Runtime.Tests.Vm;

/// <summary>
/// What a host reports of its VM image library (so that non-admins may name those images): the folders that can boot,
/// as NAME:VERSION; folders without a kernel or disk, links and malformed names are not images.
/// </summary>
public sealed class VmImageListTests
{
    [Fact]
    public void The_library_lists_the_folders_that_boot_as_name_and_version()
    {
        var root = Directory.CreateTempSubdirectory("ltb-vmlist-").FullName;
        try
        {
            void Put(string folder, string file)
            {
                Directory.CreateDirectory(Path.Combine(root, folder));
                File.WriteAllText(Path.Combine(root, folder, file), "x");
            }
            Put("ltb/tinyvm/latest", "kernel");
            Put("ltb/tinydisk/latest", "disk.qcow2");
            Put("vendor/os/7.1", "disk.raw");
            Put("notes/1.0", "README");
            Put("Bad Name/1.0", "disk.qcow2");
            Directory.CreateSymbolicLink(Path.Combine(root, "linked"), Path.Combine(root, "ltb"));

            Assert.Equal(["ltb/tinydisk:latest", "ltb/tinyvm:latest", "vendor/os:7.1"], VmImages.List(root).Order(StringComparer.Ordinal));
            Assert.Single(VmImages.List(root, max: 1));
            Assert.Empty(VmImages.List(Path.Combine(root, "missing")));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
