using System.Net.Http.Headers;
using Ltb.Server.Api;
using Ltb.Server.Tests.Infrastructure;

namespace Ltb.Server.Tests.Templates;

/// <summary>Template uploads as the CLI sends them: multipart with the topology, its files and the metadata fields.</summary>
public static class TemplateTestSupport
{
    /// <summary>Two linux nodes and a link; a startup config file beside it is bound into node a.</summary>
    public static string SmallLab(string name) => $$"""
        # a comment, kept verbatim
        name: {{name}}
        topology:
          nodes:
            a: {kind: linux, image: "ltb/tiny:latest"}   # trailing comment
            b:
              kind: linux
              image: ltb/tiny:latest
          links:
            - endpoints: ["a:eth1", "b:eth1"]
        """;

    public static MultipartFormDataContent Upload(string yaml, string fileName = "lab.clab.yml", string? name = null,
        string? visibility = null, Guid? groupId = null, IEnumerable<string>? tags = null, string? description = null,
        IReadOnlyDictionary<string, byte[]>? files = null) =>
        Upload(System.Text.Encoding.UTF8.GetBytes(yaml), fileName, name, visibility, groupId, tags, description, files);

    public static MultipartFormDataContent Upload(byte[] yaml, string fileName = "lab.clab.yml", string? name = null,
        string? visibility = null, Guid? groupId = null, IEnumerable<string>? tags = null, string? description = null,
        IReadOnlyDictionary<string, byte[]>? files = null)
    {
        var content = new MultipartFormDataContent();
        var topology = new ByteArrayContent(yaml);
        topology.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        content.Add(topology, "topology", fileName);
        foreach (var (path, bytes) in files ?? new Dictionary<string, byte[]>())
        {
            var part = new ByteArrayContent(bytes);
            part.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            content.Add(part, "files", path);
        }
        void Field(string key, string? value)
        {
            if (value is not null)
            {
                content.Add(new StringContent(value), key);
            }
        }
        Field("name", name);
        Field("visibility", visibility);
        Field("groupId", groupId?.ToString());
        Field("description", description);
        foreach (var tag in tags ?? [])
        {
            Field("tags", tag);
        }
        return content;
    }

    public static async Task<TemplateDto> CreateAsync(HttpClient client, string yaml, string? name = null, string? visibility = null,
        Guid? groupId = null, IEnumerable<string>? tags = null)
    {
        using var content = Upload(yaml, name: name, visibility: visibility, groupId: groupId, tags: tags);
        return await Http.ReadAsync<TemplateDto>(await client.PostAsync("/api/v1/templates", content), 201);
    }

    /// <summary>A node type definition like the built-in linux type, under another name.</summary>
    public static string HostType(string name) => $$"""
        name: {{name}}
        description: "A Linux host for tests."
        runtime: container
        image: ltb/tiny:latest
        interfaces:
          management: eth0
          patterns:
            - { name: "*", linux: "*" }
        capabilities: [NET_ADMIN, NET_RAW]
        """;
}
