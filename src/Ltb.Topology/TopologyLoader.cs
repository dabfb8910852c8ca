using Ltb.Topology.Containerlab;
using Ltb.Topology.LtbFormat;
using Ltb.Topology.Model;
using Ltb.Topology.Resolution;
using Ltb.Topology.Spec;
using Ltb.Topology.Validation;
using Ltb.Topology.Variables;
using Ltb.Topology.Yaml;

namespace Ltb.Topology;

/// <summary>What loading a topology produced: the lab (null when it could not be built) and every diagnostic.</summary>
public sealed record LoadResult(Lab? Lab, IReadOnlyList<Diagnostic> Diagnostics)
{
    public bool HasErrors => Diagnostics.Any(d => d.IsError);

    /// <summary>The lab when there is no error; otherwise null (use this to act on a topology).</summary>
    public Lab? ValidLab => HasErrors ? null : Lab;
}

/// <summary>
/// The one entry point: YAML text -> positioned tree -> spec (containerlab or LTB format) -> resolved, validated
/// <see cref="Lab"/>. Never throws for bad input: every problem is a positioned <see cref="Diagnostic"/>.
/// </summary>
public static class TopologyLoader
{
    /// <summary>Loads <paramref name="path"/>; diagnostics name the file as given.</summary>
    public static LoadResult LoadFile(string path, LoadOptions? options = null)
    {
        options ??= LoadOptions.Default;
        var start = new SourceSpan(path, 1, 1);
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                return Failed(start, $"the file does not exist (looked for {info.FullName})");
            }
            if (info.Length > options.Limits.MaxBytes)
            {
                return Failed(start, $"the file is larger than {options.Limits.MaxBytes / 1024} KiB; topology files must be smaller (split the lab or remove embedded data)");
            }
            return LoadText(File.ReadAllText(path), path, options);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Failed(start, $"the file cannot be read: {e.Message}");
        }
    }

    /// <summary>Loads <paramref name="text"/> as if read from <paramref name="path"/> (relative paths resolve against its folder).</summary>
    public static LoadResult LoadText(string text, string path, LoadOptions? options = null)
    {
        options ??= LoadOptions.Default;
        var diagnostics = new DiagnosticBag();
        var lab = Load(text, path, options, diagnostics);
        return new LoadResult(lab, diagnostics.ToSortedList());
    }

    private static Lab? Load(string text, string path, LoadOptions options, DiagnosticBag diagnostics)
    {
        if (YamlReader.Read(text, path, diagnostics, options.Limits) is not { } root)
        {
            if (!diagnostics.HasErrors)
            {
                diagnostics.Error(new SourceSpan(path, 1, 1), "the file is empty; a topology needs at least 'name' and its nodes");
            }
            return null;
        }
        if (root is not YMapping mapping)
        {
            diagnostics.Error(root.Span, $"a topology is a mapping with 'name' and 'topology' (containerlab) or 'format: {LtbParser.FormatV1}' (LTB), not {root.Describe()}");
            return null;
        }
        var environment = options.EffectiveEnvironment();
        var substitution = new EnvSubstitution(environment);
        var reader = new YamlValueReader(diagnostics, (value, span) =>
        {
            var expanded = substitution.Expand(value, out var error);
            if (error is not null)
            {
                diagnostics.Error(span, error);
            }
            return expanded ?? value;
        });
        TopologySpec spec = LtbParser.Claims(mapping)
            ? LtbParser.Parse(mapping, path, reader)
            : ContainerlabParser.Parse(mapping, path, reader);
        return LabResolver.Resolve(spec, Path.GetFullPath(path), options, environment, diagnostics);
    }

    private static LoadResult Failed(SourceSpan at, string message) =>
        new(null, [new Diagnostic(Severity.Error, at, message)]);
}
