using Ltb.Runtime.Planning;

namespace Ltb.Runtime.Tests.Planning;

/// <summary>containerlab's `cmd` strings split as `sh` would split them (checked against dash by hand).</summary>
public sealed class ShellWordsTests
{
    [Theory]
    [InlineData("sleep infinity", new[] { "sleep", "infinity" })]
    [InlineData("  sh  -c 'echo $HOME; ls'  ", new[] { "sh", "-c", "echo $HOME; ls" })]
    [InlineData("echo \"a b\" c", new[] { "echo", "a b", "c" })]
    [InlineData("echo a\\ b", new[] { "echo", "a b" })]
    [InlineData("echo \"\\$x \\\" \\\\ \\n\"", new[] { "echo", "$x \" \\ \\n" })]
    [InlineData("echo 'a\\b'", new[] { "echo", "a\\b" })]
    [InlineData("echo a\\\nb", new[] { "echo", "ab" })]
    [InlineData("echo \"\"", new[] { "echo", "" })]
    [InlineData("echo x\\", new[] { "echo", "x\\" })]
    public void Splits_words_like_a_posix_shell(string text, string[] expected)
    {
        var words = ShellWords.Split(text, out var error);
        Assert.Null(error);
        Assert.Equal(expected, words);
    }

    [Fact]
    public void An_unclosed_quote_is_an_error()
    {
        ShellWords.Split("echo 'oops", out var error);
        Assert.Equal("the quote ' is not closed", error);
    }
}
