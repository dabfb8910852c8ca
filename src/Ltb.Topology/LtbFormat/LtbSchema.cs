namespace Ltb.Topology.LtbFormat;

/// <summary>The JSON Schema of LTB lab templates (also published at docs/schema/ltb-lab-template.schema.json).</summary>
public static class LtbSchema
{
    private static readonly Lazy<string> LazyJson = new(() =>
    {
        using var stream = typeof(LtbSchema).Assembly.GetManifestResourceStream("Ltb.Topology.LtbFormat.ltb-lab-template.schema.json")!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    });

    public static string Json => LazyJson.Value;
}
