// LTB manages Linux network namespaces, containers and file modes: it runs on Linux only.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
