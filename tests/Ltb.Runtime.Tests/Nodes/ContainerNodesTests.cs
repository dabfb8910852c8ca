using Ltb.Runtime.Docker;
using Ltb.Runtime.Labs;
using Ltb.Runtime.Nodes;
using Ltb.Runtime.Plan;

namespace Ltb.Runtime.Tests.Nodes;

/// <summary>How a NodePlan becomes Docker's create parameters (no engine needed).</summary>
public sealed class ContainerNodesTests
{
    [Fact]
    public void Every_node_setting_reaches_the_container_definition()
    {
        var state = Path.Combine(Path.GetTempPath(), $"ltb-nodes-test-{Guid.NewGuid():N}");
        try
        {
            using var engine = DockerEngine.Connect();
            var nodes = new ContainerNodes(engine, new LabStateStore(state));
            var node = new NodePlan
            {
                Name = "r1",
                Image = "img:1",
                Env = new Dictionary<string, string> { ["A"] = "1" },
                Binds = [new BindMount("/etc/hosts", "/x/hosts", "ro")],
                StartupConfig = new StartupConfig("/etc/startup.cfg", InlineText: "hostname r1\n"),
                Cmd = ["sleep", "1"],
                Entrypoint = ["/bin/sh"],
                User = "1000",
                CapAdd = ["NET_ADMIN"],
                Sysctls = new Dictionary<string, string> { ["net.ipv4.ip_forward"] = "1" },
                Cpu = 1.5,
                Memory = 256L << 20,
                CpuSet = "0",
                MgmtIpv4 = "172.30.0.5",
                Labels = new Dictionary<string, string> { ["x"] = "y" },
                Ports = [new PortMapping(8080, 80)],
                Dns = ["9.9.9.9"],
            };
            var plan = new LabPlan { LabName = "lab1", Nodes = [node] };
            var p = nodes.BuildCreate(plan, node);
            var binds = p.HostConfig!.Binds!;
            Assert.Equal("ltb-lab1-r1", p.Name);
            Assert.Equal("r1", p.Hostname);
            Assert.Equal(["A=1"], p.Env);
            Assert.Equal(["sleep", "1"], p.Cmd);
            Assert.Equal(["/bin/sh"], p.Entrypoint);
            Assert.Equal("1000", p.User);
            Assert.Equal("lab1", p.Labels[Names.LabLabel]);
            Assert.Equal("r1", p.Labels[Names.NodeLabel]);
            Assert.Equal("y", p.Labels["x"]);
            Assert.Contains("/etc/hosts:/x/hosts:ro", binds);
            Assert.Contains(binds, b => b.EndsWith(":/etc/startup.cfg", StringComparison.Ordinal) && b.StartsWith(state, StringComparison.Ordinal));
            Assert.Equal("hostname r1\n", File.ReadAllText(binds.Single(b => b.EndsWith(":/etc/startup.cfg", StringComparison.Ordinal)).Split(':')[0]));
            Assert.Equal(["NET_ADMIN"], p.HostConfig.CapAdd);
            Assert.Equal("1", p.HostConfig.Sysctls!["net.ipv4.ip_forward"]);
            Assert.Equal(1_500_000_000, p.HostConfig.NanoCPUs);
            Assert.Equal(256L << 20, p.HostConfig.Memory);
            Assert.Equal("0", p.HostConfig.CpusetCpus);
            Assert.Equal("ltb-lab1", p.HostConfig.NetworkMode);
            Assert.Equal(["9.9.9.9"], p.HostConfig.DNS);
            Assert.Equal("8080", p.HostConfig.PortBindings!["80/tcp"].Single().HostPort);
            Assert.Equal("172.30.0.5", p.NetworkingConfig!.EndpointsConfig["ltb-lab1"].IPAMConfig!.IPv4Address);
        }
        finally
        {
            if (Directory.Exists(state))
            {
                Directory.Delete(state, true);
            }
        }
    }
}
