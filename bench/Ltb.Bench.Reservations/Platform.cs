// LTB manages Linux network namespaces, containers and file modes: the command line runs on Linux only.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
