namespace Ltb.Server.Data;

/// <summary>Who sees a lab template besides its owner (and admins).</summary>
public enum TemplateVisibility
{
    /// <summary>Its owner only.</summary>
    Private = 0,
    /// <summary>The members of <see cref="LabTemplate.GroupId"/>.</summary>
    Group = 1,
    /// <summary>Everyone signed in.</summary>
    Everyone = 2,
}

/// <summary>
/// A lab template in the template store: the metadata (owner, visibility, description, tags) of a numbered version
/// history. Each upload of new YAML is a new <see cref="LabTemplateVersion"/>; older versions stay readable.
/// </summary>
public sealed class LabTemplate : IVersioned
{
    public Guid Id { get; set; }
    /// <summary>Unique per owner; the rule of lab names, since a lab deployed from it takes it by default.</summary>
    public string Name { get; set; } = "";
    public Guid OwnerId { get; set; }
    public LtbUser? Owner { get; set; }
    public TemplateVisibility Visibility { get; set; }
    /// <summary>The group that sees it when <see cref="Visibility"/> is Group.</summary>
    public Guid? GroupId { get; set; }
    public string Description { get; set; } = "";
    public List<LabTemplateTag> Tags { get; set; } = [];
    /// <summary>The number of the newest version (versions count from 1).</summary>
    public int CurrentVersion { get; set; }
    /// <summary>The current version's format (ltb, containerlab), for lists.</summary>
    public string Format { get; set; } = "";
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
    public long Version { get; set; }
}

/// <summary>A template's tag (a row each, so that lists filter by tag in SQL on both providers).</summary>
public sealed class LabTemplateTag
{
    public Guid TemplateId { get; set; }
    public string Tag { get; set; } = "";
}

/// <summary>
/// One version of a template: the topology file byte for byte as uploaded (<see cref="Source"/>), the resolved model
/// as JSON (paths relative to the template's folder), the warnings of its validation, and its files (below).
/// </summary>
public sealed class LabTemplateVersion
{
    public Guid TemplateId { get; set; }
    public int Number { get; set; }
    public string FileName { get; set; } = "";
    public string Format { get; set; } = "";
    /// <summary>The lab's name as the topology writes it (the default name of a lab deployed from it).</summary>
    public string LabName { get; set; } = "";
    public byte[] Source { get; set; } = [];
    public string ModelJson { get; set; } = "{}";
    /// <summary>The warnings of the upload's validation (a JSON array of diagnostics).</summary>
    public string WarningsJson { get; set; } = "[]";
    public Guid? CreatedById { get; set; }
    public string CreatedByName { get; set; } = "";
    public DateTimeOffset CreatedAt { get; set; }
}

/// <summary>A file a template version references (a startup config, a bind source), by its path relative to the topology.</summary>
public sealed class LabTemplateFile
{
    public Guid TemplateId { get; set; }
    public int VersionNumber { get; set; }
    public string Path { get; set; } = "";
    public byte[] Content { get; set; } = [];
}

/// <summary>
/// A node type of the device catalog as stored by an admin: a new type (its YAML <see cref="Definition"/>), a changed
/// built-in type (same name, new definition), or a built-in type only marked retired (<see cref="Definition"/> null).
/// The effective catalog is the built-in types with these applied (<see cref="Catalog.NodeTypeStore"/>).
/// </summary>
public sealed class StoredNodeType : IVersioned
{
    public Guid Id { get; set; }
    public string Name { get; set; } = "";
    /// <summary>The YAML definition (the schema of the built-in files); null: the built-in type of this name as shipped.</summary>
    public string? Definition { get; set; }
    public bool Retired { get; set; }
    public DateTimeOffset? RetiredAt { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
    public long Version { get; set; }
}

/// <summary>
/// One server-wide setting an administrator changes at run time, as a JSON document under a fixed key (the tenant
/// policy: <see cref="Policy.PolicyStore"/>).
/// </summary>
public sealed class ServerSetting : IVersioned
{
    public string Key { get; set; } = "";
    public string Value { get; set; } = "";
    public DateTimeOffset UpdatedAt { get; set; }
    /// <summary>Who changed it last: a user name, or "policy file" when a start applied `--policy FILE`.</summary>
    public string UpdatedBy { get; set; } = "";
    public long Version { get; set; }
}
