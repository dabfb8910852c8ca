namespace Ltb.Runtime.Status;

public enum RuntimeEventKind { Info, Progress, Warning, Error }

/// <summary>A progress or log line of a runtime operation (the library never writes to the console).</summary>
public sealed record RuntimeEvent(DateTimeOffset Time, string Lab, string? Node, RuntimeEventKind Kind, string Message)
{
    public override string ToString() => Node is null ? $"[{Lab}] {Message}" : $"[{Lab}/{Node}] {Message}";
}
