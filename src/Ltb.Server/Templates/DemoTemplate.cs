using Ltb.Server.Catalog;
using Ltb.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace Ltb.Server.Templates;

/// <summary>
/// The demo lab template a new installation starts with: examples/ospf-demo (two FRR routers in OSPF, a host behind
/// each; the local images ltb/frr and ltb/nettools carry the names it uses), embedded in the server at build time.
/// </summary>
internal static class DemoTemplate
{
    public const string Name = "ospf-demo";
    private const string ResourcePrefix = "demo/";
    private const string TopologyFile = "ospf-demo.clab.yml";

    public static async Task SeedAsync(LtbDbContext db, LtbUser admin, string dataDirectory, CancellationToken ct)
    {
        if (await db.LabTemplates.AnyAsync(t => t.OwnerId == admin.Id && t.Name == Name, ct))
        {
            return;
        }
        var staging = TemplateStore.StagingDirectory(dataDirectory);
        try
        {
            var assembly = typeof(DemoTemplate).Assembly;
            foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)))
            {
                var target = Path.Combine(staging, resource[ResourcePrefix.Length..]);
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                await using var input = assembly.GetManifestResourceStream(resource)!;
                await using var output = File.Create(target);
                await input.CopyToAsync(output, ct);
            }
            // Loaded as its owner's (the admin's) upload would be; whoever deploys it is checked with their own rights then.
            var upload = TemplateStore.Load(staging, TopologyFile,
                new Ltb.Topology.LoadOptions { Trusted = true, Catalog = await new NodeTypeStore(db).CatalogAsync(ct) });
            if (upload.Topology.Result.HasErrors)
            {
                // The example is part of LTB: an error here is a bug, caught by the tests.
                throw new InvalidOperationException("the demo template is invalid: " + string.Join("; ", upload.Topology.Errors));
            }
            var now = DateTimeOffset.UtcNow;
            var template = new LabTemplate
            {
                Id = Guid.NewGuid(), Name = Name, OwnerId = admin.Id, Visibility = TemplateVisibility.Everyone, CreatedAt = now,
                Description = "Two FRR routers speaking OSPF, a host behind each: deploy it with `ltb lab deploy --template ospf-demo`.",
                Tags = [new LabTemplateTag { Tag = "demo" }, new LabTemplateTag { Tag = "frr" }, new LabTemplateTag { Tag = "ospf" }],
            };
            db.LabTemplates.Add(template);
            TemplateStore.AddVersion(db, template, 1, upload, admin.Id, admin.UserName ?? "admin", now);
            await db.SaveChangesAsync(ct);
        }
        finally
        {
            TemplateStore.DeleteFolder(staging);
        }
    }
}
