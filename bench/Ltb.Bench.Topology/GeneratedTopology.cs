using System.Globalization;
using System.Text;

namespace Ltb.Bench.Topology;

/// <summary>A containerlab topology of N nodes in a ring with chords (2 links per node): every rule has work to do.</summary>
internal static class GeneratedTopology
{
    public static string Create(int nodes)
    {
        var text = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        text.Append("name: bench\nmgmt:\n  network: bench\n  ipv4-subnet: 10.100.0.0/16\n");
        text.Append("topology:\n  defaults:\n    env: {LAB: bench}\n    labels: {owner: bench}\n");
        text.Append("  kinds:\n    linux:\n      image: alpine:3\n");
        text.Append("  groups:\n    routers:\n      kind: frr\n      cpu: 0.5\n      memory: 256MiB\n");
        text.Append("  nodes:\n");
        for (var i = 0; i < nodes; i++)
        {
            text.Append(inv, $"    n{i}:\n");
            text.Append(i % 2 == 0 ? "      group: routers\n" : "      kind: linux\n");
            text.Append(inv, $"      mgmt-ipv4: 10.100.{(i + 2) / 256}.{(i + 2) % 256}\n");
            text.Append(inv, $"      env: {{NODE_ID: \"{i}\"}}\n");
            if (i > 0 && i % 10 == 0)
            {
                text.Append(inv, $"      wait-for: [n{i - 10}]\n");
            }
        }
        text.Append("  links:\n");
        var next = new int[nodes];
        for (var i = 0; i < nodes; i++)
        {
            foreach (var step in new[] { 1, 13 })
            {
                var j = (i + step) % nodes;
                text.Append(inv, $"    - endpoints: [\"n{i}:eth{++next[i]}\", \"n{j}:eth{++next[j]}\"]\n");
            }
        }
        return text.ToString();
    }
}
