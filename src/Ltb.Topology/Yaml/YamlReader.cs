using System.Text;
using Ltb.Topology.Model;
using Ltb.Topology.Validation;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Ltb.Topology.Yaml;

/// <summary>
/// Reads YAML text into positioned <see cref="YNode"/>s from YamlDotNet's parser events, enforcing
/// <see cref="YamlLimits"/> and reporting syntax errors, duplicate keys and bad aliases as diagnostics.
/// Merge keys (`&lt;&lt;: *anchor`) are applied; their expanded size is bounded like any alias.
/// </summary>
public static class YamlReader
{
    /// <summary>Reads the first document of <paramref name="text"/>; null when it could not be read (errors reported).</summary>
    public static YNode? Read(string text, string file, DiagnosticBag diagnostics, YamlLimits? limits = null)
    {
        limits ??= YamlLimits.Default;
        if (Encoding.UTF8.GetByteCount(text) > limits.MaxBytes)
        {
            diagnostics.Error(new SourceSpan(file, 1, 1),
                $"the file is larger than {limits.MaxBytes / 1024} KiB; topology files must be smaller (split the lab or remove embedded data)");
            return null;
        }
        var builder = new TreeBuilder(file, diagnostics, limits);
        return builder.Build(text);
    }

    private sealed class TreeBuilder(string file, DiagnosticBag diagnostics, YamlLimits limits)
    {
        private readonly Dictionary<string, YNode> _anchors = new(StringComparer.Ordinal);
        private readonly Stack<Frame> _stack = new();
        private long _expanded;

        private sealed class Frame(ParsingEvent start, bool isMapping)
        {
            public ParsingEvent Start { get; } = start;
            public bool IsMapping { get; } = isMapping;
            public List<YNode> Items { get; } = [];
        }

        private sealed class LimitExceeded(SourceSpan span, string message) : Exception(message)
        {
            public SourceSpan Span { get; } = span;
        }

        /// <summary>A position for a diagnostic; before the first event YamlDotNet's mark may be 0:0, which names no place.</summary>
        private SourceSpan At(Mark mark) => new(file, (int)Math.Max(1, mark.Line), (int)Math.Max(1, mark.Column));

        public YNode? Build(string text)
        {
            var parser = new Parser(new StringReader(text));
            YNode? root = null;
            var documents = 0;
            var last = Mark.Empty;
            try
            {
                while (parser.MoveNext())
                {
                    var e = parser.Current!;
                    last = e.End;
                    switch (e)
                    {
                        case DocumentStart when ++documents > 1:
                            diagnostics.Error(At(e.Start), "a topology file holds one YAML document; remove the second '---' and what follows");
                            return root;
                        case DocumentEnd:
                            if (root is null)
                            {
                                root = new YScalar(At(e.Start), "", YScalarStyle.Plain);
                            }
                            break;
                        case MappingStart or SequenceStart:
                            if (_stack.Count >= limits.MaxDepth)
                            {
                                throw new LimitExceeded(At(e.Start),
                                    $"the YAML is nested deeper than {limits.MaxDepth} levels; topologies need far fewer");
                            }
                            _stack.Push(new Frame(e, e is MappingStart));
                            break;
                        case MappingEnd or SequenceEnd:
                            var frame = _stack.Pop();
                            YNode node = frame.IsMapping ? BuildMapping(frame) : new YSequence(At(frame.Start.Start), frame.Items);
                            Register((NodeEvent)frame.Start, node);
                            Add(node, ref root);
                            break;
                        case Scalar s:
                            var scalar = new YScalar(At(s.Start), s.Value, s.Style switch
                            {
                                ScalarStyle.Plain => YScalarStyle.Plain,
                                ScalarStyle.Literal or ScalarStyle.Folded => YScalarStyle.Block,
                                _ => YScalarStyle.Quoted,
                            });
                            Register(s, scalar);
                            Add(scalar, ref root);
                            break;
                        case AnchorAlias alias:
                            if (!_anchors.TryGetValue(alias.Value.Value, out var target))
                            {
                                diagnostics.Error(At(alias.Start), $"the alias '*{alias.Value.Value}' refers to no anchor defined before it; define '&{alias.Value.Value}' first");
                                target = new YScalar(At(alias.Start), "", YScalarStyle.Plain);
                            }
                            Count(target.ExpandedSize, At(alias.Start));
                            Add(target, ref root);
                            break;
                    }
                }
            }
            catch (LimitExceeded ex)
            {
                diagnostics.Error(ex.Span, ex.Message);
                return null;
            }
            catch (YamlException ex)
            {
                diagnostics.Error(At(ex.Start), $"YAML syntax: {Clean(ex.Message)}");
                return null;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // YamlDotNet's scanner throws other exceptions (InvalidOperationException...) on some malformed input.
                diagnostics.Error(At(last), "YAML syntax: the text after this point is not valid YAML");
                return null;
            }
            return root;
        }

        /// <summary>YamlDotNet prefixes messages with the mark ("(Line: 2, Col: 3, ...): "); the diagnostic has it already.</summary>
        private static string Clean(string message)
        {
            var i = message.IndexOf("): ", StringComparison.Ordinal);
            return message.StartsWith('(') && i > 0 ? message[(i + 3)..] : message;
        }

        private void Register(NodeEvent e, YNode node)
        {
            if (!e.Anchor.IsEmpty)
            {
                _anchors[e.Anchor.Value] = node;
            }
        }

        private void Count(long size, SourceSpan at)
        {
            _expanded += size;
            if (_expanded > limits.MaxExpandedNodes)
            {
                throw new LimitExceeded(at,
                    $"aliases expand this document beyond {limits.MaxExpandedNodes} nodes (a 'billion laughs' pattern?); write the values out or use fewer aliases");
            }
        }

        private void Add(YNode node, ref YNode? root)
        {
            Count(1, node.Span);
            if (_stack.Count == 0)
            {
                root ??= node;
            }
            else
            {
                _stack.Peek().Items.Add(node);
            }
        }

        private YMapping BuildMapping(Frame frame)
        {
            var entries = new List<YEntry>();
            var merged = new List<YEntry>();
            var seen = new Dictionary<string, YScalar>(StringComparer.Ordinal);
            for (var i = 0; i + 1 < frame.Items.Count; i += 2)
            {
                var keyNode = frame.Items[i];
                var value = frame.Items[i + 1];
                if (keyNode is not YScalar key)
                {
                    diagnostics.Error(keyNode.Span, $"a key must be a plain text, not {keyNode.Describe()}");
                    continue;
                }
                if (key.Value == "<<" && key.Style == YScalarStyle.Plain)
                {
                    CollectMerge(value, merged);
                    continue;
                }
                if (seen.TryGetValue(key.Value, out var first))
                {
                    diagnostics.Error(key.Span, $"duplicate key '{key.Value}'; it is already defined at line {first.Span.Line}, column {first.Span.Column}");
                    continue;
                }
                seen[key.Value] = key;
                entries.Add(new YEntry(key, value));
            }
            // Merge keys: explicit keys win, then earlier merged mappings win over later ones (YAML merge-key spec).
            foreach (var m in merged)
            {
                if (seen.TryAdd(m.Key.Value, m.Key))
                {
                    entries.Add(m);
                }
            }
            return new YMapping(new SourceSpan(file, (int)frame.Start.Start.Line, (int)frame.Start.Start.Column), entries);
        }

        private void CollectMerge(YNode value, List<YEntry> merged)
        {
            switch (value)
            {
                case YMapping m:
                    merged.AddRange(m.Entries);
                    break;
                case YSequence s when s.Items.All(i => i is YMapping):
                    foreach (var item in s.Items)
                    {
                        merged.AddRange(((YMapping)item).Entries);
                    }
                    break;
                default:
                    diagnostics.Error(value.Span, $"a merge key '<<' takes a mapping or a list of mappings, not {value.Describe()}");
                    break;
            }
        }
    }
}
