using System.Text.Json;
using System.Text.Json.Serialization;
using Ltb.Runtime.Plan;

namespace Ltb.Runtime.Labs;

public enum LabPhase { Deploying, Deployed, Failed }

/// <summary>
/// What the runtime remembers of a lab beyond the engine's labels: the applied plan, the phase, and the management
/// network as LTB wired it (null in records of labs deployed before LTB wired eth0 itself: their nodes are Docker's).
/// </summary>
public sealed record LabRecord(LabPlan Plan, LabPhase Phase, string? Error, string? MgmtBridge, MgmtState? Mgmt = null);

/// <summary>Per-lab folder under <see cref="RuntimeOptions.StateDirectory"/>: <c>lab.json</c> and generated files.</summary>
public sealed class LabStateStore(string root)
{
    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter() },
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public string Root { get; } = root;

    public string LabDirectory(string lab) => Path.Combine(Root, lab);

    public LabRecord? Load(string lab)
    {
        var file = Path.Combine(LabDirectory(lab), "lab.json");
        return File.Exists(file) ? JsonSerializer.Deserialize<LabRecord>(File.ReadAllText(file), Json) : null;
    }

    public void Save(LabRecord record)
    {
        var dir = LabDirectory(record.Plan.LabName);
        Directory.CreateDirectory(dir);
        var tmp = Path.Combine(dir, $"lab.json.{Environment.ProcessId}.tmp");
        File.WriteAllText(tmp, JsonSerializer.Serialize(record, Json));
        File.Move(tmp, Path.Combine(dir, "lab.json"), overwrite: true);
    }

    /// <summary>Writes an inline startup config and returns its host path.</summary>
    public string WriteNodeFile(string lab, string node, string name, string text)
    {
        var dir = Path.Combine(LabDirectory(lab), "nodes", node);
        Directory.CreateDirectory(dir);
        var file = Path.Combine(dir, name);
        File.WriteAllText(file, text);
        return file;
    }

    public IReadOnlyList<string> Labs() =>
        Directory.Exists(Root) ? Directory.GetDirectories(Root).Where(d => File.Exists(Path.Combine(d, "lab.json"))).Select(Path.GetFileName).OfType<string>().ToList() : [];

    public void Delete(string lab)
    {
        var dir = LabDirectory(lab);
        if (Directory.Exists(dir))
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
