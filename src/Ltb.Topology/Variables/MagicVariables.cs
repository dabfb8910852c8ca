namespace Ltb.Topology.Variables;

/// <summary>
/// containerlab's per-node placeholders, replaced after inheritance so that a group or kind can use them:
/// `__clabLabName__`, `__clabNodeName__`, `__clabDir__` (the lab's working folder) and `__clabNodeDir__`
/// (the node's folder inside it).
/// </summary>
public sealed record MagicVariables(string LabName, string LabDirectory)
{
    public string Replace(string value, string nodeName)
    {
        if (!value.Contains("__clab", StringComparison.Ordinal))
        {
            return value;
        }
        return value
            .Replace("__clabNodeDir__", Path.Combine(LabDirectory, nodeName), StringComparison.Ordinal)
            .Replace("__clabDir__", LabDirectory, StringComparison.Ordinal)
            .Replace("__clabLabName__", LabName, StringComparison.Ordinal)
            .Replace("__clabNodeName__", nodeName, StringComparison.Ordinal);
    }
}
