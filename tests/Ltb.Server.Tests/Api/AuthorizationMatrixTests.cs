using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Ltb.Agent;
using Ltb.Server.Api;
using Ltb.Server.Data;
using Ltb.Server.Labs;
using Ltb.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Ltb.Server.Tests.Api;

/// <summary>Who calls in the matrix. A owns the objects under test; B shares group G1 with A; C is in G2 only; I teaches G1.</summary>
public enum Who
{
    Anonymous,
    StudentA,
    StudentB,
    StudentC,
    Instructor,
    Admin,
}

/// <summary>The cast of the matrix: users, groups and objects owned by student A, on one server.</summary>
public abstract class MatrixServer : ServerFixture
{
    private readonly Dictionary<Who, HttpClient> _clients = [];

    public UserDto A { get; private set; } = null!;
    public UserDto B { get; private set; } = null!;
    public UserDto C { get; private set; } = null!;
    public UserDto I { get; private set; } = null!;
    public GroupDto G1 { get; private set; } = null!;
    public GroupDto G2 { get; private set; } = null!;
    public HostDto RemoteHost { get; private set; } = null!;

    protected override async Task SeedAsync()
    {
        A = await CreateUserAsync("a");
        B = await CreateUserAsync("b");
        C = await CreateUserAsync("c");
        I = await CreateUserAsync("i", "instructor");
        G1 = await CreateGroupAsync("g1", A.Id, B.Id, I.Id);
        G2 = await CreateGroupAsync("g2", C.Id);
        RemoteHost = await CreateHostAsync();
        _clients[Who.Anonymous] = Anonymous();
        _clients[Who.Admin] = Admin;
        foreach (var (who, user) in new[] { (Who.StudentA, A), (Who.StudentB, B), (Who.StudentC, C), (Who.Instructor, I) })
        {
            _clients[who] = await LoginAsync(user.UserName, UserPassword);
        }
    }

    public HttpClient Client(Who who) => _clients[who];

    public UserDto UserOf(Who who) => who switch
    {
        Who.StudentA => A,
        Who.StudentB => B,
        Who.StudentC => C,
        Who.Instructor => I,
        _ => throw new ArgumentOutOfRangeException(nameof(who)),
    };

    /// <summary>A lab of student A shared with G1, in the failed state (nothing on the host), with one finished task.</summary>
    public async Task<(Guid Lab, Guid Task)> CreateLabOfAAsync()
    {
        await using var scope = Server.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<LtbDbContext>();
        var host = await db.LabHosts.FirstAsync(h => h.IsLocal);
        var id = Guid.NewGuid();
        var now = DateTimeOffset.UtcNow;
        var lab = new Lab
        {
            Id = id, Name = Unique("lab"), RuntimeName = LabNames.Runtime("m", id), OwnerId = A.Id, GroupId = G1.Id, HostId = host.Id,
            State = LabLifecycle.Failed, Error = "seeded", NodeKindsJson = """{"n1":"linux"}""", CreatedAt = now, UpdatedAt = now,
        };
        var task = LabReconciler.NewTask(lab, LabTaskKind.Deployment, "{}", now);
        task.State = LabTaskState.Failed;
        db.Labs.Add(lab);
        db.LabTasks.Add(task);
        await db.SaveChangesAsync();
        return (id, task.Id);
    }

    /// <summary>A ready snapshot of student A's lab, which was shared with G1 (seeded with a small stored folder: the lab never ran).</summary>
    public Task<Guid> CreateSnapshotOfAAsync(Guid lab) => Labs.SnapshotSamples.StoreAsync(this, A.Id, lab, G1.Id);

    /// <summary>A template of the instructor shared with G1 (students cannot own templates).</summary>
    public async Task<TemplateDto> CreateTemplateOfIAsync() =>
        await Templates.TemplateTestSupport.CreateAsync(Client(Who.Instructor), Templates.TemplateTestSupport.SmallLab("m"),
            Unique("tpl"), "group", G1.Id);

    /// <summary>A scheduled reservation of student A giving labs to G1's members (seeded: students do not book for groups), a year ahead.</summary>
    public async Task<Guid> CreateReservationOfAAsync(Guid template)
    {
        await using var scope = Server.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<LtbDbContext>();
        var start = DateTimeOffset.UtcNow.AddDays(365);
        var r = new Reservation
        {
            Id = Guid.NewGuid(), Name = Unique("res"), OwnerId = A.Id, TemplateId = template, TemplateVersion = 1, StartsAt = start,
            EndsAt = start.AddHours(1), BookedEndsAt = start.AddHours(1), HoldsFrom = start, Audience = ReservationAudience.Members,
            GroupId = G1.Id, LabCpus = 1, LabMemoryBytes = 1L << 28, CreatedAt = DateTimeOffset.UtcNow, UpdatedAt = DateTimeOffset.UtcNow,
        };
        db.Reservations.Add(r);
        await db.SaveChangesAsync();
        return r.Id;
    }

    public async Task<HostDto> CreateHostAsync() => await Http.ReadAsync<HostDto>(await Admin.PostAsJsonAsync("/api/v1/hosts",
        new CreateHostRequest(Unique("h"), "https://10.0.0.1:7443", 4, 8L << 30)), 201);
}

public sealed class SqliteMatrixServer : MatrixServer
{
    protected override Task<(TestDatabase? Database, string? Unavailable)> CreateDatabaseAsync() =>
        Task.FromResult<(TestDatabase?, string?)>((new SqliteTestDatabase(), null));
}

public sealed class PostgresMatrixServer : MatrixServer
{
    protected override async Task<(TestDatabase? Database, string? Unavailable)> CreateDatabaseAsync() =>
        await PostgresTestDatabase.CreateAsync();
}

/// <summary>
/// Every endpoint of the API called as each kind of caller, with the status each must get. Objects belong to student A.
/// A 404 where a 403 might be expected is deliberate: what a caller may not see does not exist for them (no IDOR).
/// A second test checks that the matrix covers every endpoint the server maps, so a new endpoint cannot slip in
/// without its row.
/// </summary>
public abstract partial class AuthorizationMatrixTests<TServer>(TServer fixture) : IClassFixture<TServer>
    where TServer : MatrixServer
{
    private const int Accepted = 202, Conflict = 409;
    private const int Ok = 200, Created = 201, NoContent = 204, Invalid = 400, Unauth = 401, Forbid = 403, NotFound = 404;

    private TServer S
    {
        get
        {
            fixture.Require();
            return fixture;
        }
    }

    /// <summary>One endpoint: the route as mapped, how to make the request (fresh objects per call where it destroys), and the
    /// expected status for Anonymous, A, B, C, Instructor, Admin.</summary>
    private sealed record Row(string Method, string Route, Func<Who, Task<string>> Path, Func<object?> Body, int[] Expected,
        bool FreshSession = false);

    private static Row R(string method, string route, Func<Who, Task<string>> path, int[] expected, Func<object?>? body = null,
        bool freshSession = false) => new(method, route, path, body ?? (() => null), expected, freshSession);

    private static Func<Who, Task<string>> At(string path) => _ => Task.FromResult(path);

    private IReadOnlyList<Row> Rows()
    {
        var s = S;
        string a = s.A.Id.ToString(), g1 = s.G1.Id.ToString(), host = s.RemoteHost.Id.ToString(), c = s.C.Id.ToString(),
            b = s.B.Id.ToString(), iId = s.I.Id.ToString();
        var matrix = s;
        async Task<string> FreshStudentInG1(string suffix)
        {
            var victim = await matrix.CreateUserAsync("v");
            await Http.EnsureAsync(await matrix.Admin.PutAsync($"/api/v1/groups/{g1}/members/{victim.Id}", null), 204, "add victim");
            return $"/api/v1/users/{victim.Id}{suffix}";
        }
        async Task<string> FreshGroup(string suffix)
        {
            var group = await matrix.CreateGroupAsync("fg", Guid.Parse(a), Guid.Parse(b), Guid.Parse(iId));
            return $"/api/v1/groups/{group.Id}{suffix}";
        }
        async Task<string> FreshTokenOfA()
        {
            var client = s.Client(Who.StudentA);
            var token = await Http.ReadAsync<CreatedTokenDto>(await client.PostAsJsonAsync("/api/v1/tokens", new CreateTokenRequest("m")), 201);
            return $"/api/v1/tokens/{token.Token.Id}";
        }
        async Task<string> FreshKeyOfA()
        {
            var client = s.Client(Who.StudentA);
            var key = await Http.ReadAsync<SshKeyDto>(await client.PostAsJsonAsync("/api/v1/ssh-keys", new AddSshKeyRequest(Http.RandomSshKey())), 201);
            return $"/api/v1/ssh-keys/{key.Id}";
        }
        async Task<string> FreshHost()
        {
            var h = await s.CreateHostAsync();
            return $"/api/v1/hosts/{h.Id}";
        }
        async Task<string> FreshHostToken()
        {
            var t = await Http.ReadAsync<CreatedHostTokenDto>(await matrix.Admin.PostAsJsonAsync("/api/v1/hosts/tokens", new CreateHostTokenRequest("fresh")), 201);
            return $"/api/v1/hosts/tokens/{t.Token.Id}";
        }
        async Task<string> FreshLab(string suffix)
        {
            var (id, _) = await matrix.CreateLabOfAAsync();
            return $"/api/v1/labs/{id}{suffix}";
        }
        async Task<string> FreshTemplate(string suffix)
        {
            var t = await matrix.CreateTemplateOfIAsync();
            return $"/api/v1/templates/{t.Id}{suffix}";
        }
        var (labId, taskId) = s.CreateLabOfAAsync().GetAwaiter().GetResult();
        var template = s.CreateTemplateOfIAsync().GetAwaiter().GetResult().Id;
        var reservation = s.CreateReservationOfAAsync(template).GetAwaiter().GetResult();
        var snapshot = s.CreateSnapshotOfAAsync(labId).GetAwaiter().GetResult();
        var snapshotArchive = Labs.SnapshotSamples.ArchiveAsync(s, "matrix").GetAwaiter().GetResult();
        var customType = ServerFixture.Unique("host");
        Http.EnsureAsync(s.Admin.PostAsJsonAsync("/api/v1/node-types", new CreateNodeTypeRequest(Templates.TemplateTestSupport.HostType(customType)))
            .GetAwaiter().GetResult(), 201, "create node type").GetAwaiter().GetResult();
        // A tiny raw "disk" for the VM image rows: the upload and import endpoints check format and checksum, not bootability.
        var vmDisk = Path.Combine(matrix.DataDirectory, "matrix-disk.raw");
        File.WriteAllBytes(vmDisk, Enumerable.Range(0, 4096).Select(i => (byte)i).ToArray());
        var vmSha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(vmDisk)));
        async Task<string> FreshVmImage()
        {
            var added = await Http.ReadAsync<VmImageDto>(await matrix.Admin.PostAsJsonAsync("/api/v1/vm-images/import",
                new ImportVmImageRequest(ServerFixture.Unique("m"), "1", "generic_vm", vmDisk)), 201);
            return $"/api/v1/vm-images/{added.Id}";
        }
        var vmImage = FreshVmImage().GetAwaiter().GetResult();
        static object Upload() => Templates.TemplateTestSupport.Upload(Templates.TemplateTestSupport.SmallLab("m"), name: ServerFixture.Unique("up"));
        var all200 = new[] { Unauth, Ok, Ok, Ok, Ok, Ok };
        // Shared with G1: B and the instructor read it; only A (owner) and the admin operate it; C does not see it.
        var sharedRead = new[] { Unauth, Ok, Ok, NotFound, Ok, Ok };
        var ownerOperates = new[] { Unauth, Conflict, Forbid, NotFound, Forbid, Conflict };
        var noCapture = new[] { Unauth, NotFound, NotFound, NotFound, NotFound, NotFound };
        var adminOnly = new[] { Unauth, Forbid, Forbid, Forbid, Forbid };

        return
        [
            // Anonymous by design: every caller gets the same 401 for a wrong login.
            R("POST", "/api/v1/auth/login", At("/api/v1/auth/login"), [Unauth, Unauth, Unauth, Unauth, Unauth, Unauth],
                () => new LoginRequest("nobody", "Not-a-Passw0rd")),
            R("POST", "/api/v1/auth/logout", At("/api/v1/auth/logout"), [Unauth, NoContent, NoContent, NoContent, NoContent, NoContent],
                freshSession: true),
            R("GET", "/api/v1/me", At("/api/v1/me"), all200),
            // A ticket is only the caller's own session for one bulk transfer; the transfer itself is authorized as usual.
            R("POST", "/api/v1/auth/transfer-tickets", At("/api/v1/auth/transfer-tickets"), all200,
                () => new TransferTicketRequest("POST", "/api/v1/snapshots/import")),
            // The SSH gateway's key lookup answers the gateway's secret only: every user's token, the admin's too, is 401.
            R("GET", "/api/v1/ssh-gateway/authorized-keys", At("/api/v1/ssh-gateway/authorized-keys?fingerprint=SHA256:x"),
                [Unauth, Unauth, Unauth, Unauth, Unauth, Unauth]),
            R("POST", "/api/v1/me/password", At("/api/v1/me/password"), [Unauth, Invalid, Invalid, Invalid, Invalid, Invalid],
                () => new ChangePasswordRequest("Wrong-Passw0rd-9", "Other-Passw0rd-9")),

            R("GET", "/api/v1/users", At("/api/v1/users"), all200),
            R("POST", "/api/v1/users", At("/api/v1/users"), [.. adminOnly, Created],
                () => new CreateUserRequest(ServerFixture.Unique("n"), ServerFixture.UserPassword)),
            R("GET", "/api/v1/users/{id}", At($"/api/v1/users/{a}"), [Unauth, Ok, NotFound, NotFound, Ok, Ok]),
            R("PATCH", "/api/v1/users/{id}", At($"/api/v1/users/{a}"), [Unauth, Forbid, NotFound, NotFound, Forbid, Ok],
                () => new UpdateUserRequest(DisplayName: "Student A")),
            R("DELETE", "/api/v1/users/{id}", _ => FreshStudentInG1(""), [Unauth, NotFound, NotFound, NotFound, Forbid, NoContent]),
            R("POST", "/api/v1/users/{id}/password", _ => FreshStudentInG1("/password"),
                [Unauth, NotFound, NotFound, NotFound, Forbid, NoContent], () => new ResetPasswordRequest("Reset-Passw0rd-7")),

            R("GET", "/api/v1/groups", At("/api/v1/groups"), all200),
            R("POST", "/api/v1/groups", At("/api/v1/groups"), [Unauth, Forbid, Forbid, Forbid, Created, Created],
                () => new CreateGroupRequest(ServerFixture.Unique("ng"))),
            R("GET", "/api/v1/groups/{id}", At($"/api/v1/groups/{g1}"), [Unauth, Ok, Ok, NotFound, Ok, Ok]),
            R("PATCH", "/api/v1/groups/{id}", At($"/api/v1/groups/{g1}"), [Unauth, Forbid, Forbid, NotFound, Ok, Ok],
                () => new UpdateGroupRequest(Description: "course")),
            R("DELETE", "/api/v1/groups/{id}", _ => FreshGroup(""), [Unauth, Forbid, Forbid, NotFound, NoContent, NoContent]),
            R("GET", "/api/v1/groups/{id}/members", At($"/api/v1/groups/{g1}/members"), [Unauth, Ok, Ok, NotFound, Ok, Ok]),
            R("PUT", "/api/v1/groups/{id}/members/{user}", _ => FreshGroup($"/members/{c}"),
                [Unauth, Forbid, Forbid, NotFound, NoContent, NoContent]),
            R("DELETE", "/api/v1/groups/{id}/members/{user}", _ => FreshGroup($"/members/{b}"),
                [Unauth, Forbid, Forbid, NotFound, NoContent, NoContent]),

            R("GET", "/api/v1/tokens", At("/api/v1/tokens"), all200),
            R("POST", "/api/v1/tokens", At("/api/v1/tokens"), [Unauth, Created, Created, Created, Created, Created],
                () => new CreateTokenRequest("matrix")),
            R("DELETE", "/api/v1/tokens/{id}", _ => FreshTokenOfA(), [Unauth, NoContent, NotFound, NotFound, NotFound, NoContent]),

            R("GET", "/api/v1/ssh-keys", At("/api/v1/ssh-keys"), all200),
            R("POST", "/api/v1/ssh-keys", At("/api/v1/ssh-keys"), [Unauth, Created, Created, Created, Created, Created],
                () => new AddSshKeyRequest(Http.RandomSshKey())),
            R("DELETE", "/api/v1/ssh-keys/{id}", _ => FreshKeyOfA(), [Unauth, NoContent, NotFound, NotFound, NotFound, NoContent]),

            R("GET", "/api/v1/hosts", At("/api/v1/hosts"), all200),
            R("POST", "/api/v1/hosts", At("/api/v1/hosts"), [.. adminOnly, Created],
                () => new CreateHostRequest(ServerFixture.Unique("nh"), "https://10.0.0.2:7443", 2, 1L << 30)),
            R("GET", "/api/v1/hosts/{id}", At($"/api/v1/hosts/{host}"), all200),
            R("PATCH", "/api/v1/hosts/{id}", At($"/api/v1/hosts/{host}"), [.. adminOnly, Ok],
                () => new UpdateHostRequest(Labels: new() { ["rack"] = "1" })),
            R("DELETE", "/api/v1/hosts/{id}", _ => FreshHost(), [.. adminOnly, NoContent]),
            // A host's usage lists every lab on it: administrators only.
            R("GET", "/api/v1/hosts/{id}/usage", At($"/api/v1/hosts/{host}/usage"), [.. adminOnly, Ok]),
            // Its history likewise (the machine and every node on it).
            R("GET", "/api/v1/hosts/{id}/usage/history", At($"/api/v1/hosts/{host}/usage/history"), [.. adminOnly, Ok]),
            // Usage across labs: everyone signed in, each sees what UsageScope gives them (own; an instructor's groups;
            // admins all), so no 403 or 404: the rows are filtered (UsageReportTests checks what each one sees).
            R("GET", "/api/v1/usage", At("/api/v1/usage?by=user"), all200),
            R("GET", "/api/v1/usage/history", At("/api/v1/usage/history"), all200),
            R("GET", "/api/v1/usage/report", At("/api/v1/usage/report?by=group"), all200),
            R("GET", "/api/v1/hosts/tokens", At("/api/v1/hosts/tokens"), [.. adminOnly, Ok]),
            R("POST", "/api/v1/hosts/tokens", At("/api/v1/hosts/tokens"), [.. adminOnly, Created], () => new CreateHostTokenRequest("matrix")),
            // Host tokens are invisible to everyone but admins: 404, like a token that does not exist.
            R("DELETE", "/api/v1/hosts/tokens/{id}", _ => FreshHostToken(), [Unauth, NotFound, NotFound, NotFound, NotFound, NoContent]),
            // Agents' own calls: only a host token opens them; no user (not even an admin) is an agent.
            R("POST", "/api/v1/hosts/register", At("/api/v1/hosts/register"), [Unauth, Unauth, Unauth, Unauth, Unauth, Unauth],
                () => new AgentRegistration("matrix-host", "https://10.0.0.9:7443", MatrixFacts, null, [], Ltb.Server.Hosting.AgentVersions.Controller.ToString(3))),
            R("POST", "/api/v1/hosts/{id}/heartbeat", At($"/api/v1/hosts/{host}/heartbeat"), [Unauth, Unauth, Unauth, Unauth, Unauth, Unauth],
                () => new AgentHeartbeat(MatrixFacts, [])),

            R("GET", "/api/v1/audit", At("/api/v1/audit"), [.. adminOnly, Ok]),
            // The Hangfire dashboard of the lab task jobs (not part of the API, but behind the same authentication).
            R("GET", "/admin/jobs/{**path}", At("/admin/jobs/"), [.. adminOnly, Ok]),
            R("POST", "/admin/jobs/{**path}", At("/admin/jobs/stats"), [.. adminOnly, Ok], () => new FormUrlEncodedContent([new("metrics[]", "enqueued:count")])),

            R("GET", "/api/v1/labs", At("/api/v1/labs"), all200),
            // Everyone may deploy; a body that is not a multipart upload is a 400.
            R("POST", "/api/v1/labs", At("/api/v1/labs"), [Unauth, Invalid, Invalid, Invalid, Invalid, Invalid], () => new { }),
            R("GET", "/api/v1/labs/{lab}", At($"/api/v1/labs/{labId}"), sharedRead),
            R("DELETE", "/api/v1/labs/{lab}", _ => FreshLab(""), [Unauth, Accepted, Forbid, NotFound, Forbid, Accepted]),
            R("GET", "/api/v1/labs/{lab}/tasks", At($"/api/v1/labs/{labId}/tasks"), sharedRead),
            R("GET", "/api/v1/labs/{lab}/access", At($"/api/v1/labs/{labId}/access"), sharedRead),
            // Live events (Server-Sent Events): read like the lab; the stream of all labs is everyone's (filtered per event).
            R("GET", "/api/v1/labs/{lab}/events", At($"/api/v1/labs/{labId}/events"), sharedRead),
            R("GET", "/api/v1/events", At("/api/v1/events"), all200),
            // The seeded lab is failed: allowed callers get 409 (not running), before anything reaches the host.
            R("POST", "/api/v1/labs/{lab}/exec", At($"/api/v1/labs/{labId}/exec"), ownerOperates, () => new ExecRequest("n1", ["true"])),
            // Interactive exec: authorized like exec, before any WebSocket is accepted (a plain GET gets the same refusals).
            R("GET", "/api/v1/labs/{lab}/nodes/{node}/exec/ws", At($"/api/v1/labs/{labId}/nodes/n1/exec/ws?command=sh"), ownerOperates),
            // Consoles: a ticket (interactive: operating the lab) and the WebSocket with a bearer header instead of a
            // ticket are refused like exec, before any WebSocket; listing a node's sessions is watching (owner, G1's
            // instructor, admins), which needs no running lab.
            R("POST", "/api/v1/labs/{lab}/nodes/{node}/console/tickets", At($"/api/v1/labs/{labId}/nodes/n1/console/tickets"), ownerOperates,
                () => new ConsoleTicketRequest()),
            R("GET", "/api/v1/labs/{lab}/nodes/{node}/console/ws", At($"/api/v1/labs/{labId}/nodes/n1/console/ws"), ownerOperates),
            // A VM's VNC display: the rights of an interactive console, refused before any WebSocket.
            R("GET", "/api/v1/labs/{lab}/nodes/{node}/vnc/ws", At($"/api/v1/labs/{labId}/nodes/n1/vnc/ws"), ownerOperates),
            R("POST", "/api/v1/labs/{lab}/nodes/{node}/vnc/tickets", At($"/api/v1/labs/{labId}/nodes/n1/vnc/tickets"), ownerOperates, () => new { }),
            R("GET", "/api/v1/labs/{lab}/nodes/{node}/console/sessions", At($"/api/v1/labs/{labId}/nodes/n1/console/sessions"),
                [Unauth, Ok, Forbid, NotFound, Ok, Ok]),
            R("POST", "/api/v1/labs/{lab}/nodes/{node}/{action}", At($"/api/v1/labs/{labId}/nodes/n1/restart"), ownerOperates),
            R("POST", "/api/v1/labs/{lab}/links/{node}/{iface}/{state}", At($"/api/v1/labs/{labId}/links/n1/eth1/down"), ownerOperates),
            // Reading a node's output is reading the lab (a failed lab's too): the seeded lab's host holds nothing, so 409.
            R("GET", "/api/v1/labs/{lab}/nodes/{node}/logs", At($"/api/v1/labs/{labId}/nodes/n1/logs"), [Unauth, Conflict, Conflict, NotFound, Conflict, Conflict]),
            // Device information is reading the lab too (the device is asked only its catalog type's commands): 409 likewise.
            R("GET", "/api/v1/labs/{lab}/nodes/{node}/info", At($"/api/v1/labs/{labId}/nodes/n1/info?config=true"), [Unauth, Conflict, Conflict, NotFound, Conflict, Conflict]),
            // A lab's usage is reading it: everyone who sees the lab (the figures come from the hosts' last samples: 200).
            R("GET", "/api/v1/labs/{lab}/usage", At($"/api/v1/labs/{labId}/usage"), sharedRead),
            R("GET", "/api/v1/labs/{lab}/usage/history", At($"/api/v1/labs/{labId}/usage/history"), sharedRead),
            // A live capture is reading the lab too, like its output: refused or 409 for the same reason.
            R("GET", "/api/v1/labs/{lab}/capture", At($"/api/v1/labs/{labId}/capture?interface=n1:eth1&seconds=1"), [Unauth, Conflict, Conflict, NotFound, Conflict, Conflict]),
            // Mirror interfaces: listed like the lab; created and removed like a link's state (the failed lab: 409).
            R("GET", "/api/v1/labs/{lab}/mirrors", At($"/api/v1/labs/{labId}/mirrors"), sharedRead),
            R("POST", "/api/v1/labs/{lab}/mirrors", At($"/api/v1/labs/{labId}/mirrors"), ownerOperates, () => new CreateMirrorRequest("n1", "eth1")),
            R("DELETE", "/api/v1/labs/{lab}/mirrors/{name}", At($"/api/v1/labs/{labId}/mirrors/m1"), ownerOperates),
            // Decoded captures: opened like a live capture (409 on the failed lab); each is its creator's: another's id is 404.
            R("POST", "/api/v1/labs/{lab}/captures", At($"/api/v1/labs/{labId}/captures"), [Unauth, Conflict, Conflict, NotFound, Conflict, Conflict],
                () => new DecodedCaptureRequest(["n1:eth1"], Seconds: 1)),
            R("GET", "/api/v1/labs/{lab}/captures", At($"/api/v1/labs/{labId}/captures"), sharedRead),
            R("GET", "/api/v1/labs/{lab}/captures/{id}", At($"/api/v1/labs/{labId}/captures/{Guid.NewGuid()}"), noCapture),
            R("GET", "/api/v1/labs/{lab}/captures/{id}/packets", At($"/api/v1/labs/{labId}/captures/{Guid.NewGuid()}/packets"), noCapture),
            R("GET", "/api/v1/labs/{lab}/captures/{id}/packets/{number}", At($"/api/v1/labs/{labId}/captures/{Guid.NewGuid()}/packets/1"), noCapture),
            R("GET", "/api/v1/labs/{lab}/captures/{id}/pcapng", At($"/api/v1/labs/{labId}/captures/{Guid.NewGuid()}/pcapng"), noCapture),
            R("DELETE", "/api/v1/labs/{lab}/captures/{id}", At($"/api/v1/labs/{labId}/captures/{Guid.NewGuid()}"), noCapture),
            R("GET", "/api/v1/tasks/{id}", At($"/api/v1/tasks/{taskId}"), sharedRead),

            // Snapshots: taken like a lab is operated (the failed lab: 409); read by its lab's group; deleted by A and admins.
            R("POST", "/api/v1/labs/{lab}/snapshots", At($"/api/v1/labs/{labId}/snapshots"), ownerOperates, () => new CreateSnapshotRequest("s1")),
            R("GET", "/api/v1/labs/{lab}/snapshots", At($"/api/v1/labs/{labId}/snapshots"), sharedRead),
            R("GET", "/api/v1/snapshots", At("/api/v1/snapshots"), all200),
            R("GET", "/api/v1/snapshots/usage", At("/api/v1/snapshots/usage"), all200),
            R("GET", "/api/v1/snapshots/{snapshot}", At($"/api/v1/snapshots/{snapshot}"), sharedRead),
            R("DELETE", "/api/v1/snapshots/{snapshot}", async _ => $"/api/v1/snapshots/{await matrix.CreateSnapshotOfAAsync(labId)}",
                [Unauth, NoContent, Forbid, NotFound, Forbid, NoContent]),
            // Exported by whoever may read it; anyone signed in imports an archive as a snapshot of their own.
            R("GET", "/api/v1/snapshots/{snapshot}/export", At($"/api/v1/snapshots/{snapshot}/export"), sharedRead),
            R("POST", "/api/v1/snapshots/import", At("/api/v1/snapshots/import"), [Unauth, Created, Created, Created, Created, Created],
                () => new ByteArrayContent(snapshotArchive)),

            // Templates belong to the instructor and are shared with G1: A and B read them, C does not see them; only the
            // owning instructor and the admin change them; students create none.
            R("GET", "/api/v1/templates", At("/api/v1/templates"), all200),
            R("POST", "/api/v1/topologies/validate", At("/api/v1/topologies/validate"), all200,
                () => new ValidateTopologyRequest("name: m\ntopology:\n  nodes:\n    a: {kind: linux, image: alpine}\n")),
            R("POST", "/api/v1/templates", At("/api/v1/templates"), [Unauth, Forbid, Forbid, Forbid, Created, Created], Upload),
            R("GET", "/api/v1/templates/{id}", At($"/api/v1/templates/{template}"), sharedRead),
            R("PATCH", "/api/v1/templates/{id}", At($"/api/v1/templates/{template}"), [Unauth, Forbid, Forbid, NotFound, Ok, Ok],
                () => new UpdateTemplateRequest(Description: "matrix")),
            R("DELETE", "/api/v1/templates/{id}", _ => FreshTemplate(""), [Unauth, Forbid, Forbid, NotFound, NoContent, NoContent]),
            R("GET", "/api/v1/templates/{id}/versions", At($"/api/v1/templates/{template}/versions"), sharedRead),
            R("POST", "/api/v1/templates/{id}/versions", At($"/api/v1/templates/{template}/versions"),
                [Unauth, Forbid, Forbid, NotFound, Created, Created], Upload),
            R("GET", "/api/v1/templates/{id}/versions/{number}", At($"/api/v1/templates/{template}/versions/1"), sharedRead),
            R("GET", "/api/v1/templates/{id}/versions/{number}/source", At($"/api/v1/templates/{template}/versions/1/source"), sharedRead),

            R("GET", "/api/v1/node-types", At("/api/v1/node-types"), all200),
            R("POST", "/api/v1/node-types", At("/api/v1/node-types"), [.. adminOnly, Created],
                () => new CreateNodeTypeRequest(Templates.TemplateTestSupport.HostType(ServerFixture.Unique("host")))),
            R("GET", "/api/v1/node-types/{name}", At("/api/v1/node-types/linux"), all200),
            R("PATCH", "/api/v1/node-types/{name}", At($"/api/v1/node-types/{customType}"), [.. adminOnly, Ok],
                () => new UpdateNodeTypeRequest(Definition: Templates.TemplateTestSupport.HostType(customType))),

            // VM images: everyone reads the library; only admins add (upload, import) and delete.
            R("GET", "/api/v1/vm-images", At("/api/v1/vm-images"), all200),
            R("POST", "/api/v1/vm-images", _ => Task.FromResult($"/api/v1/vm-images?name={ServerFixture.Unique("m")}&version=1&nodeType=generic_vm&sha256={vmSha}"),
                [.. adminOnly, Created], () => new ByteArrayContent(File.ReadAllBytes(vmDisk))),
            R("POST", "/api/v1/vm-images/import", At("/api/v1/vm-images/import"), [.. adminOnly, Created],
                () => new ImportVmImageRequest(ServerFixture.Unique("m"), "1", "generic_vm", vmDisk)),
            R("GET", "/api/v1/vm-images/{id}", At(vmImage), all200),
            R("DELETE", "/api/v1/vm-images/{id}", _ => FreshVmImage(), [.. adminOnly, NoContent]),

            // Reservations: A's, giving labs to G1's members; B and the instructor (in G1) see it, only A and admins change it.
            R("GET", "/api/v1/reservations", At("/api/v1/reservations"), all200),
            R("POST", "/api/v1/reservations", At("/api/v1/reservations"), [Unauth, Invalid, Invalid, Invalid, Invalid, Invalid],
                () => new CreateReservationRequest("", Guid.NewGuid(), DateTimeOffset.UtcNow.AddDays(1), DateTimeOffset.UtcNow.AddDays(1).AddHours(1))),
            R("GET", "/api/v1/reservations/{id}", At($"/api/v1/reservations/{reservation}"), sharedRead),
            R("PATCH", "/api/v1/reservations/{id}", At($"/api/v1/reservations/{reservation}"), [Unauth, Invalid, Forbid, NotFound, Forbid, Invalid],
                () => new UpdateReservationRequest(EndsAt: DateTimeOffset.UtcNow.AddDays(300))),
            R("POST", "/api/v1/reservations/{id}/extend", At($"/api/v1/reservations/{reservation}/extend"),
                [Unauth, Invalid, Forbid, NotFound, Forbid, Invalid], () => new ExtendReservationRequest(DateTimeOffset.UtcNow)),
            R("DELETE", "/api/v1/reservations/{id}", async _ => $"/api/v1/reservations/{await matrix.CreateReservationOfAAsync(template)}",
                [Unauth, Ok, Forbid, NotFound, Forbid, Ok]),
            R("POST", "/api/v1/me/calendar", At("/api/v1/me/calendar"), [Unauth, Created, Created, Created, Created, Created]),
            R("DELETE", "/api/v1/me/calendar", async who =>
            {
                if (who != Who.Anonymous)
                {
                    await Http.EnsureAsync(await matrix.Client(who).PostAsync("/api/v1/me/calendar", null), 201, "make a feed");
                }
                return "/api/v1/me/calendar";
            }, [Unauth, NoContent, NoContent, NoContent, NoContent, NoContent]),
            // The secret is the credential: a wrong one is not found, whoever asks.
            R("GET", "/api/v1/calendar/{secret}", At("/api/v1/calendar/ltbcal_0000.ics"), [NotFound, NotFound, NotFound, NotFound, NotFound, NotFound]),
            // Everyone reads the tenant policy (students see what is allowed); only admins replace it.
            R("GET", "/api/v1/policy", At("/api/v1/policy"), all200),
            R("PUT", "/api/v1/policy", At("/api/v1/policy"), [.. adminOnly, Ok],
                () => new StringContent(Ltb.Topology.Policy.TenantPolicyFile.ToJson(Ltb.Topology.Policy.TenantPolicy.Default),
                    System.Text.Encoding.UTF8, "application/json")),
        ];
    }

    private static readonly AgentFacts MatrixFacts = new(2, 1L << 30, 1L << 30, false, [], ["linux"], "test");

    [Fact]
    public async Task Every_endpoint_answers_each_caller_as_the_matrix_says()
    {
        var server = S;
        var failures = new List<string>();
        foreach (var row in Rows())
        {
            foreach (var who in Enum.GetValues<Who>())
            {
                var path = await row.Path(who);
                using var request = new HttpRequestMessage(new HttpMethod(row.Method), path);
                if (row.Body() is { } body)
                {
                    request.Content = body as HttpContent ?? JsonContent.Create(body, body.GetType());
                }
                var client = server.Client(who);
                HttpClient? fresh = null;
                if (row.FreshSession && who != Who.Anonymous)
                {
                    var user = who == Who.Admin ? "admin" : server.UserOf(who).UserName;
                    var password = who == Who.Admin ? ServerFixture.AdminPassword : ServerFixture.UserPassword;
                    client = fresh = await server.LoginAsync(user, password);
                }
                // Headers only: an event stream's answer never ends (disposing it closes the stream).
                using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
                var expected = row.Expected[(int)who];
                if ((int)response.StatusCode != expected)
                {
                    failures.Add($"{row.Method} {row.Route} as {who}: expected {expected}, got {(int)response.StatusCode} " +
                        await response.Content.ReadAsStringAsync());
                }
                else if (expected >= 400 && response.Content.Headers.ContentType?.MediaType != "application/problem+json")
                {
                    failures.Add($"{row.Method} {row.Route} as {who}: {expected} without problem details");
                }
                fresh?.Dispose();
            }
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public void The_matrix_covers_every_endpoint_of_the_api_and_the_admin_pages()
    {
        var server = S;
        var mapped = server.Server.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText is { } route && (route.StartsWith("/api/", StringComparison.Ordinal) || route.StartsWith("/admin/", StringComparison.Ordinal)))
            // The web UI's pages (/admin/users...) take the browser's cookie, not a token: Web/WebShellTests covers them.
            .Where(e => e.Metadata.GetMetadata<Microsoft.AspNetCore.Components.Endpoints.ComponentTypeMetadata>() is null)
            .SelectMany(e => (e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? ["*"])
                .Select(m => $"{m} {Normalize(e.RoutePattern.RawText!)}"))
            .ToHashSet();
        var covered = Rows().Select(r => $"{r.Method} {r.Route}").ToHashSet();
        Assert.Empty(mapped.Except(covered));
        Assert.Empty(covered.Except(mapped));
    }

    [Fact]
    public async Task Lists_never_show_what_the_caller_may_not_see()
    {
        var s = S;
        HttpClient b = s.Client(Who.StudentB), c = s.Client(Who.StudentC), i = s.Client(Who.Instructor);
        var a = s.A;
        var bUsers = await Http.ReadAsync<Paged<UserDto>>(await b.GetAsync("/api/v1/users"), 200);
        Assert.Equal([s.B.Id], bUsers.Items.Select(u => u.Id));

        // (C may share a group with the instructor by now: the matrix adds C to fresh groups. A new user does not.)
        var stranger = await s.CreateUserAsync("x");
        var iUsers = await Http.ReadAsync<Paged<UserDto>>(await i.GetAsync("/api/v1/users?pageSize=200"), 200);
        Assert.Contains(iUsers.Items, u => u.Id == a.Id);
        Assert.DoesNotContain(iUsers.Items, u => u.Id == stranger.Id);
        Assert.DoesNotContain(iUsers.Items, u => u.UserName == "admin");

        var cGroups = await Http.ReadAsync<Paged<GroupDto>>(await c.GetAsync("/api/v1/groups"), 200);
        Assert.Contains(cGroups.Items, g => g.Id == s.G2.Id);
        Assert.DoesNotContain(cGroups.Items, g => g.Id == s.G1.Id);

        // Asking for another user's tokens or keys by id yields nothing, not their objects.
        var bTokens = await Http.ReadAsync<Paged<TokenDto>>(await b.GetAsync($"/api/v1/tokens?userId={a.Id}"), 200);
        Assert.Empty(bTokens.Items);
        var bKeys = await Http.ReadAsync<Paged<SshKeyDto>>(await b.GetAsync($"/api/v1/ssh-keys?userId={a.Id}"), 200);
        Assert.Empty(bKeys.Items);

        // Admins can look at anyone's (incident response).
        var admin = s.Client(Who.Admin);
        var aTokens = await Http.ReadAsync<Paged<TokenDto>>(await admin.GetAsync($"/api/v1/tokens?userId={a.Id}"), 200);
        Assert.NotEmpty(aTokens.Items);
    }

    private static string Normalize(string route) => Constraint().Replace(route, "{$1}").TrimEnd('/');

    [GeneratedRegex(@"\{(\w+):[^}]+\}")]
    private static partial Regex Constraint();
}

public sealed class AuthorizationMatrixOnSqlite(SqliteMatrixServer fixture) : AuthorizationMatrixTests<SqliteMatrixServer>(fixture);

public sealed class AuthorizationMatrixOnPostgres(PostgresMatrixServer fixture) : AuthorizationMatrixTests<PostgresMatrixServer>(fixture);
