using System.Text.Json;
using Ltb.Server.Tests.Infrastructure;
using Ltb.Testing;

namespace Ltb.Server.Tests.Api;

/// <summary>
/// The served OpenAPI document as a contract for other clients: every operation is named and described, a standard
/// linter (@redocly/cli, redocly.yaml) finds no error, and a client generated from it by NSwag compiles and works.
/// The linter and the generator come from scripts/prepare-host.sh test (install_openapi_linter, dotnet tool restore).
/// </summary>
public sealed class OpenApiContractTests(SqliteServer fixture) : IClassFixture<SqliteServer>
{
    private static readonly string Linter = Path.Combine(
        Environment.GetEnvironmentVariable("LTB_STATE_DIR") ?? "/var/lib/ltb-host", "tools", "redocly");

    private static readonly string[] Methods = ["get", "put", "post", "delete", "patch", "head", "options", "trace"];

    [Fact]
    public async Task Every_operation_has_a_unique_operationId_and_a_summary()
    {
        var operations = Operations(await DocumentAsync()).ToList();
        Assert.True(operations.Count > 50, $"only {operations.Count} operations");
        var unnamed = operations.Where(o => o.Id is not { Length: > 0 }).Select(o => o.Where).ToList();
        var undescribed = operations.Where(o => o.Summary is not { Length: > 0 }).Select(o => o.Where).ToList();
        Assert.True(unnamed.Count == 0, $"no operationId: {string.Join(", ", unnamed)}");
        Assert.True(undescribed.Count == 0, $"no summary: {string.Join(", ", undescribed)}");
        var twice = operations.GroupBy(o => o.Id).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        Assert.True(twice.Count == 0, $"operationIds used twice: {string.Join(", ", twice)}");
        Assert.Contains(operations, o => o is { Id: "SignIn", Where: "POST /api/v1/auth/login" });
        Assert.Contains(operations, o => o is { Id: "ListLabs", Where: "GET /api/v1/labs" });
    }

    [Fact]
    public async Task The_document_passes_the_OpenAPI_linter_without_errors()
    {
        Prerequisite.Require(File.Exists(Linter), $"the OpenAPI linter at {Linter}");
        using var folder = new TempFolder();
        var document = Path.Combine(folder.Path, "openapi.json");
        await File.WriteAllTextAsync(document, (await DocumentAsync()).GetRawText());

        var lint = await HostCommand.RunAsync(Linter,
            ["lint", document, "--config", Path.Combine(Repo.Root, "redocly.yaml"), "--format", "json"],
            TimeSpan.FromMinutes(2), new Dictionary<string, string> { ["REDOCLY_TELEMETRY"] = "off", ["REDOCLY_SUPPRESS_UPDATE_NOTICE"] = "true" });

        // The JSON report goes to stdout; the linter's banners (a Node.js notice) to stderr.
        var report = JsonDocument.Parse(lint.Stdout[lint.Stdout.IndexOf('{', StringComparison.Ordinal)..]).RootElement;
        var errors = report.GetProperty("problems").EnumerateArray()
            .Where(p => p.GetProperty("severity").GetString() == "error")
            .Select(p => $"{p.GetProperty("ruleId").GetString()}: {p.GetProperty("message").GetString()}")
            .ToList();
        Assert.True(errors.Count == 0, string.Join("\n", errors));
        Assert.Equal(0, report.GetProperty("totals").GetProperty("errors").GetInt32());
        Assert.Equal(0, lint.ExitCode);
    }

    [Fact]
    public async Task A_client_generated_by_NSwag_compiles_signs_in_and_lists_labs()
    {
        var version = await HostCommand.RunAsync("dotnet", ["tool", "run", "nswag", "version"], TimeSpan.FromMinutes(2));
        Prerequisite.Require(version.ExitCode == 0, "the NSwag dotnet tool (dotnet tool restore)");
        var ct = TestContext.Current.CancellationToken;
        var user = await fixture.CreateUserAsync("nswag");
        using var userApi = fixture.Api(await fixture.LoginTokenAsync(user.UserName, ServerFixture.UserPassword));
        var expected = await userApi.ListLabsAsync(ct);

        // Outside the repository, so that its build settings (warnings as errors, central packages) stay out of it.
        using var folder = new TempFolder();
        var document = Path.Combine(folder.Path, "openapi.json");
        await File.WriteAllTextAsync(document, (await DocumentAsync()).GetRawText(), ct);
        (await HostCommand.RunAsync("dotnet", ["tool", "run", "nswag", "openapi2csclient", $"/input:{document}",
            $"/output:{Path.Combine(folder.Path, "LtbClient.cs")}", "/namespace:LtbGenerated", "/className:LtbClient",
            "/jsonLibrary:SystemTextJson", "/generateClientInterfaces:false", "/operationGenerationMode:SingleClientFromOperationId"],
            TimeSpan.FromMinutes(2))).EnsureSuccess("nswag openapi2csclient");
        await File.WriteAllTextAsync(Path.Combine(folder.Path, "Probe.csproj"), ProbeProject, ct);
        await File.WriteAllTextAsync(Path.Combine(folder.Path, "Program.cs"), ProbeProgram, ct);
        (await HostCommand.RunAsync("dotnet", ["build", "-c", "Release", "--nologo", "-v", "q", "-o", Path.Combine(folder.Path, "out")],
            TimeSpan.FromMinutes(5), workingDirectory: folder.Path)).EnsureSuccess("building the generated client");

        var run = (await HostCommand.RunAsync("dotnet", [Path.Combine(folder.Path, "out", "Probe.dll"), fixture.BaseAddress.ToString(),
            user.UserName], TimeSpan.FromMinutes(1), stdin: ServerFixture.UserPassword + "\n")).EnsureSuccess("the generated client");

        var got = JsonDocument.Parse(run.Stdout).RootElement;
        Assert.Equal(user.UserName, got.GetProperty("user").GetString());
        Assert.Equal(expected.Total, got.GetProperty("total").GetInt32());
        Assert.Equal(expected.Items.Select(l => l.Name), got.GetProperty("labs").EnumerateArray().Select(l => l.GetString()));
    }

    private const string ProbeProject = """
        <Project Sdk="Microsoft.NET.Sdk">
          <PropertyGroup>
            <OutputType>Exe</OutputType>
            <TargetFramework>net10.0</TargetFramework>
            <ImplicitUsings>enable</ImplicitUsings>
            <Nullable>disable</Nullable>
          </PropertyGroup>
        </Project>
        """;

    // Signs in with the generated client (password on stdin), lists the labs with its token, prints what it got as JSON.
    private const string ProbeProgram = """
        using LtbGenerated;
        using var http = new HttpClient();
        var client = new LtbClient(http) { BaseUrl = args[0] };
        var login = await client.SignInAsync(new LoginRequest { UserName = args[1], Password = Console.ReadLine() });
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", login.Token);
        var labs = await client.ListLabsAsync(null, 1, 200);
        Console.WriteLine(System.Text.Json.JsonSerializer.Serialize(new
        {
            user = login.User.UserName,
            total = labs.Total,
            labs = labs.Items.Select(l => l.Name),
        }));
        """;

    private async Task<JsonElement> DocumentAsync()
    {
        fixture.Require();
        using var anonymous = fixture.Anonymous();
        return await Http.ReadAsync<JsonElement>(await anonymous.GetAsync(ApiConventions.OpenApiDocument), 200);
    }

    private static IEnumerable<(string Where, string? Id, string? Summary)> Operations(JsonElement document) =>
        document.GetProperty("paths").EnumerateObject().SelectMany(path => path.Value.EnumerateObject()
            .Where(op => Methods.Contains(op.Name))
            .Select(op => ($"{op.Name.ToUpperInvariant()} {path.Name}",
                op.Value.TryGetProperty("operationId", out var id) ? id.GetString() : null,
                op.Value.TryGetProperty("summary", out var summary) ? summary.GetString() : null)));

    private sealed class TempFolder : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("ltb-openapi-").FullName;

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
