using System.Net.Http.Json;
using System.Text.Json;

namespace Ltb.Server.Tests.Infrastructure;

/// <summary>Assertions on HTTP answers: status with the body in the message, problem details.</summary>
public static class Http
{
    public static async Task EnsureAsync(HttpResponseMessage response, int status, string what)
    {
        if ((int)response.StatusCode != status)
        {
            var body = await response.Content.ReadAsStringAsync();
            Assert.Fail($"{what}: expected {status}, got {(int)response.StatusCode}: {body}");
        }
    }

    /// <summary>Asserts an RFC 7807 answer with this status and returns its JSON.</summary>
    public static async Task<JsonElement> ProblemAsync(HttpResponseMessage response, int status)
    {
        await EnsureAsync(response, status, $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri?.PathAndQuery}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(status, problem.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("title").GetString()));
        Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("detail").GetString()));
        return problem;
    }

    public static async Task<T> ReadAsync<T>(HttpResponseMessage response, int status)
    {
        await EnsureAsync(response, status, $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri?.PathAndQuery}");
        return (await response.Content.ReadFromJsonAsync<T>())!;
    }

    /// <summary>A random, well-formed ed25519 public key line (the blob names its algorithm, as OpenSSH writes it).</summary>
    public static string RandomSshKey(string comment = "test@ltb")
    {
        var name = "ssh-ed25519"u8.ToArray();
        var blob = new List<byte>();
        blob.AddRange(BigEndian(name.Length));
        blob.AddRange(name);
        blob.AddRange(BigEndian(32));
        blob.AddRange(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        return $"ssh-ed25519 {Convert.ToBase64String([.. blob])} {comment}";
    }

    private static byte[] BigEndian(int value)
    {
        var bytes = BitConverter.GetBytes(value);
        if (BitConverter.IsLittleEndian)
        {
            Array.Reverse(bytes);
        }
        return bytes;
    }
}
