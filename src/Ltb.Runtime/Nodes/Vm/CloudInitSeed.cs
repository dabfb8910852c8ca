using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Ltb.Runtime.Labs;
using Ltb.Runtime.Network;
using Ltb.Runtime.Plan;

namespace Ltb.Runtime.Nodes.Vm;

/// <summary>The three files of a cloud-init NoCloud seed.</summary>
public sealed record CloudInitSeedFiles(string UserData, string MetaData, string NetworkConfig);

/// <summary>
/// The cloud-init NoCloud seed of a VM node whose type is configured by cloud-init (<c>config: method: cloud-init</c>):
/// meta-data (instance id, hostname), network-config v2 (the management card, matched by the MAC LTB gives it, with
/// the address and gateways LTB allocated; data cards from the node's <c>IP_ethN</c> env) and user-data (the node's
/// startup-config, else a minimal #cloud-config). Written as a small FAT volume labelled CIDATA
/// (<c>mkfs.vfat -C</c> and <c>mcopy</c>: a file, no loop device, no mount) that QEMU attaches read-only.
/// Values in the YAML are LTB's own (names, addresses, MACs), quoted; the user's startup-config is a file of its own.
/// </summary>
public static class CloudInitSeed
{
    public const string VolumeLabel = "CIDATA";
    private const int SizeKib = 1024;

    /// <param name="publicKey">An SSH public key the guest authorizes (meta-data <c>public-keys</c>: LTB's exec key), or null.</param>
    public static CloudInitSeedFiles Compose(string lab, NodePlan node, MgmtState? mgmt, MgmtAddresses? addresses, string? userData,
        string? publicKey = null)
    {
        var hostname = node.Hostname ?? node.Name;
        var network = new StringBuilder("version: 2\nethernets:\n");
        var mgmtAddresses = new List<string>();
        if (addresses?.Ipv4 is { } a4 && mgmt is not null)
        {
            mgmtAddresses.Add($"{a4}/{mgmt.Ipv4Prefix()}");
        }
        if (addresses?.Ipv6 is { } a6 && mgmt is not null)
        {
            mgmtAddresses.Add($"{a6}/{mgmt.Ipv6Prefix()}");
        }
        var routes = new List<string>();
        if (mgmtAddresses.Count > 0 && mgmt?.Ipv4Gateway is { } g4 && addresses?.Ipv4 is not null)
        {
            routes.Add(g4);
        }
        if (mgmtAddresses.Count > 0 && mgmt?.Ipv6Gateway is { } g6 && addresses?.Ipv6 is not null)
        {
            routes.Add(g6);
        }
        Card(network, 0, QemuCommandLine.Mac(lab, node.Name, 0), mgmtAddresses, routes);
        foreach (var (index, list) in DataAddresses(node))
        {
            Card(network, index, QemuCommandLine.Mac(lab, node.Name, index), list, []);
        }
        var user = userData ?? $"#cloud-config\nhostname: \"{hostname}\"\n";
        var instance = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{lab}\n{node.Name}\n{network}\n{user}")))[..16];
        var meta = $"instance-id: \"ltb-{instance}\"\nlocal-hostname: \"{hostname}\"\n";
        if (publicKey is not null)
        {
            // ssh-keygen's line (type, base64, comment of LTB's own names): no quote or newline to escape.
            meta += $"public-keys:\n  - \"{publicKey.ReplaceLineEndings("").Replace("\"", "", StringComparison.Ordinal)}\"\n";
        }
        return new CloudInitSeedFiles(user, meta, network.ToString());
    }

    private static void Card(StringBuilder yaml, int index, string mac, List<string> addresses, List<string> gateways)
    {
        yaml.Append(CultureInfo.InvariantCulture, $"  eth{index}:\n    match: {{macaddress: \"{mac}\"}}\n    set-name: \"eth{index}\"\n");
        yaml.Append(addresses.Count == 0 ? "    dhcp4: false\n" : $"    addresses: [{string.Join(", ", addresses.Select(a => $"\"{a}\""))}]\n");
        if (gateways.Count > 0)
        {
            yaml.Append(CultureInfo.InvariantCulture, $"    routes: [{string.Join(", ", gateways.Select(g => $"{{to: \"{(g.Contains(':') ? "::/0" : "0.0.0.0/0")}\", via: \"{g}\"}}"))}]\n");
        }
    }

    /// <summary>The node's <c>IP_ethN=ADDR/LEN[,ADDR/LEN]</c> env (as the tiny VM takes them), checked to be addresses.</summary>
    private static IEnumerable<(int Index, List<string> Addresses)> DataAddresses(NodePlan node)
    {
        foreach (var (key, value) in node.Env.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            if (!key.StartsWith("IP_", StringComparison.Ordinal) || VmTaps.Index(key[3..]) is not (> 0 and var index))
            {
                continue;
            }
            var list = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Where(a => a.Split('/') is [var ip, var len] && IPAddress.TryParse(ip, out _) && int.TryParse(len, CultureInfo.InvariantCulture, out _))
                .ToList();
            if (list.Count > 0)
            {
                yield return (index, list);
            }
        }
    }

    /// <summary>Writes the seed as a FAT volume labelled CIDATA in <paramref name="image"/> (replaced if it exists).</summary>
    public static async Task WriteAsync(IHostNetwork host, string image, CloudInitSeedFiles files, CancellationToken ct)
    {
        var folder = Path.GetDirectoryName(image)!;
        File.Delete(image);
        await RunAsync(host, "mkfs.vfat", ["-n", VolumeLabel, "-C", image, SizeKib.ToString(CultureInfo.InvariantCulture)], ct);
        foreach (var (name, text) in new[] { ("user-data", files.UserData), ("meta-data", files.MetaData), ("network-config", files.NetworkConfig) })
        {
            var source = Path.Combine(folder, $".seed-{name}");
            await File.WriteAllTextAsync(source, text, ct);
            try
            {
                await RunAsync(host, "mcopy", ["-o", "-i", image, source, "::" + name], ct);
            }
            finally
            {
                File.Delete(source);
            }
        }
    }

    private static async Task RunAsync(IHostNetwork host, string tool, IReadOnlyList<string> args, CancellationToken ct)
    {
        ProcessResult r;
        try
        {
            r = await host.RunAsync(tool, args, null, TimeSpan.FromSeconds(30), ct);
        }
        catch (System.ComponentModel.Win32Exception)
        {
            r = new ProcessResult(127, "", $"{tool} is not installed");
        }
        if (!r.Succeeded)
        {
            throw new IOException($"the cloud-init seed could not be made ({tool}: {r.Stderr.Trim()}); this host needs dosfstools and mtools " +
                "(apt-get install dosfstools mtools, or scripts/prepare-host.sh)");
        }
    }
}
