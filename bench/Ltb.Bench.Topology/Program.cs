using System.Diagnostics;
using System.Globalization;
using Ltb.Bench.Topology;
using Ltb.Topology;
using YamlDotNet.RepresentationModel;
using YamlDotNet.Serialization;

// Parse + validate a generated 1,000-node / 2,000-link topology; compare with plain YamlDotNet in the same run.
const int Nodes = 1000;
const int WarmUp = 10;
const int Runs = 15;
var text = GeneratedTopology.Create(Nodes);
var path = Path.Combine(Path.GetTempPath(), "bench.clab.yml");
var options = new LoadOptions { Environment = new Dictionary<string, string>() };

var check = TopologyLoader.LoadText(text, path, options);
if (check.HasErrors || check.Lab!.Nodes.Count != Nodes || check.Lab.Links.Count != 2 * Nodes)
{
    Console.Error.WriteLine("the generated topology did not load as expected:");
    foreach (var d in check.Diagnostics.Take(10))
    {
        Console.Error.WriteLine(d);
    }
    return 1;
}

var deserializer = new DeserializerBuilder().Build();
var ltb = Measure(() => TopologyLoader.LoadText(text, path, options));
var yamlOnly = Measure(() => Ltb.Topology.Yaml.YamlReader.Read(text, path, new Ltb.Topology.Validation.DiagnosticBag()));
var plain = Measure(() => deserializer.Deserialize<object>(text));
var representation = Measure(() => new YamlStream().Load(new StringReader(text)));

var inv = CultureInfo.InvariantCulture;
Console.WriteLine(string.Create(inv, $"topology: {Nodes} nodes, {check.Lab.Links.Count} links, {text.Length / 1024} KiB of YAML"));
Console.WriteLine(string.Create(inv, $"machine: {Environment.ProcessorCount} cores, {RuntimeVersion()}, {Environment.OSVersion}"));
Console.WriteLine(string.Create(inv, $"runs: {WarmUp} warm-up, {Runs} measured, median"));
Console.WriteLine(string.Create(inv, $"LTB parse + validate (TopologyLoader.LoadText): {ltb:F1} ms"));
Console.WriteLine(string.Create(inv, $"  of which positioned YAML reading (YamlReader):  {yamlOnly:F1} ms"));
Console.WriteLine(string.Create(inv, $"baseline YamlDotNet Deserialize<object>:         {plain:F1} ms  (LTB / baseline = {ltb / plain:F2})"));
Console.WriteLine(string.Create(inv, $"baseline YamlDotNet YamlStream.Load:             {representation:F1} ms  (LTB / baseline = {ltb / representation:F2})"));
return ltb < 1000 ? 0 : 2;

static double Measure(Action action)
{
    for (var i = 0; i < WarmUp; i++)
    {
        action();
    }
    var times = new List<double>();
    for (var i = 0; i < Runs; i++)
    {
        var watch = Stopwatch.StartNew();
        action();
        times.Add(watch.Elapsed.TotalMilliseconds);
    }
    times.Sort();
    return times[Runs / 2];
}

static string RuntimeVersion() => System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription;
