using System.CommandLine;
using Ltb.Topology;
using Ltb.Topology.Catalog;
using Policy = Ltb.Topology.Policy;
using Ltb.Topology.Model;
using Ltb.Topology.Validation;
using Ltb.Topology.Writing;

namespace Ltb.Cli.Commands;

/// <summary>`ltb topology ...`: validate, show and convert topology files (containerlab and LTB lab templates).</summary>
internal static class TopologyCommands
{
    public static Command Create()
    {
        // The command line runs as the local user, who may read any file anyway: host paths are allowed unless asked.
        var untrusted = new Option<bool>("--untrusted")
        {
            Description = "Check as the LTB server checks a non-admin's upload: no host paths, links, capabilities, ports or images beyond the policy (the default one unless --policy).",
        };
        var policyFile = new Option<FileInfo?>("--policy") { Description = "With --untrusted: the admin's policy file (YAML or JSON, as for ltb serve --policy)." };
        var nodeTypes = new Option<DirectoryInfo?>("--node-types") { Description = "A folder of admin-added node type YAML files." };

        var files = new Argument<FileInfo[]>("FILE") { Arity = ArgumentArity.OneOrMore, Description = "Topology files." };
        var validate = new Command("validate", "Check topology files; print FILE:LINE:COLUMN diagnostics; exit 1 when there is an error.") { files, untrusted, policyFile, nodeTypes };
        validate.SetAction(parse =>
        {
            var options = Options(parse.GetValue(untrusted), parse.GetValue(nodeTypes), out var catalogFailed);
            if (parse.GetValue(policyFile) is { } pf)
            {
                if (ReadPolicy(pf) is not { } policy)
                {
                    return 1;
                }
                options = options with { Policy = policy };
            }
            var failed = catalogFailed;
            foreach (var file in parse.GetValue(files) ?? [])
            {
                var result = TopologyLoader.LoadFile(file.ToString(), options);
                Print(result.Diagnostics);
                failed |= result.HasErrors;
            }
            return failed ? 1 : 0;
        });

        var file = new Argument<FileInfo>("FILE") { Description = "A topology file." };
        var format = new Option<string>("--format") { Description = "json or yaml.", DefaultValueFactory = _ => "json" };
        format.AcceptOnlyFromAmong("json", "yaml");
        var show = new Command("show", "Print the resolved model: inheritance applied, variables substituted, links normalised.") { file, format, untrusted, nodeTypes };
        show.SetAction(parse =>
        {
            var lab = LoadValid(parse.GetValue(file)!, Options(parse.GetValue(untrusted), parse.GetValue(nodeTypes), out _));
            if (lab is null)
            {
                return 1;
            }
            Console.Out.Write(parse.GetValue(format) == "yaml" ? LabJson.ToYaml(lab) : LabJson.ToJson(lab) + "\n");
            return 0;
        });

        var to = new Option<string>("--to") { Description = "containerlab or ltb.", Required = true };
        to.AcceptOnlyFromAmong("containerlab", "ltb");
        var output = new Option<FileInfo?>("-o", "--output") { Description = "Write here instead of standard output." };
        var convert = new Command("convert", "Convert between containerlab topologies and LTB lab templates.") { file, to, output, untrusted, nodeTypes };
        convert.SetAction(parse =>
        {
            var lab = LoadValid(parse.GetValue(file)!, Options(parse.GetValue(untrusted), parse.GetValue(nodeTypes), out _));
            if (lab is null)
            {
                return 1;
            }
            var target = parse.GetValue(to) == "ltb" ? TopologyFormat.Ltb : TopologyFormat.Containerlab;
            if (target == TopologyFormat.Containerlab && (lab.Description is not null || lab.Nodes.Any(n => n.Version is not null || n.CloudInit is not null)))
            {
                Console.Error.WriteLine($"{parse.GetValue(file)}: warning: containerlab has no description, catalog version or cloud-init; they are left out (images keep their tags)");
            }
            var outFile = parse.GetValue(output);
            var directory = outFile?.Directory?.FullName ?? Path.GetDirectoryName(lab.SourceFile)!;
            var text = TopologyWriter.Write(lab, target, directory);
            if (outFile is null)
            {
                Console.Out.Write(text);
            }
            else
            {
                File.WriteAllText(outFile.FullName, text);
            }
            return 0;
        });

        return new Command("topology", "Topology files: containerlab (*.clab.yml) and LTB lab templates.") { validate, show, convert };
    }

    private static LoadOptions Options(bool untrusted, DirectoryInfo? nodeTypes, out bool failed)
    {
        var catalog = NodeTypeCatalog.BuiltIn;
        failed = false;
        if (nodeTypes is not null)
        {
            var diagnostics = new DiagnosticBag();
            catalog = catalog.WithDirectory(nodeTypes.FullName, diagnostics);
            Print(diagnostics.ToSortedList());
            failed = diagnostics.HasErrors;
        }
        return new LoadOptions { Trusted = !untrusted, Catalog = catalog };
    }

    private static Policy.TenantPolicy? ReadPolicy(FileInfo file)
    {
        if (!file.Exists)
        {
            Console.Error.WriteLine($"{file}: error: the policy file does not exist");
            return null;
        }
        var (policy, errors) = Policy.TenantPolicyFile.Parse(File.ReadAllText(file.FullName), file.ToString());
        foreach (var e in errors)
        {
            Console.Error.WriteLine($"error: {e}");
        }
        return policy;
    }

    private static Lab? LoadValid(FileInfo file, LoadOptions options)
    {
        var result = TopologyLoader.LoadFile(file.ToString(), options);
        Print(result.Diagnostics);
        return result.ValidLab;
    }

    /// <summary>Diagnostics go to standard error, so `show` and `convert` output stays clean for pipes.</summary>
    private static void Print(IEnumerable<Diagnostic> diagnostics)
    {
        foreach (var d in diagnostics)
        {
            Console.Error.WriteLine(d.ToString());
        }
    }
}
