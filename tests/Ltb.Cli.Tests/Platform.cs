// The command line it tests runs on Linux only (src/Ltb.Cli/Platform.cs).
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
