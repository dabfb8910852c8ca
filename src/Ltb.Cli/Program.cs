using Ltb.Cli;
using Ltb.Cli.Commands;

// Wireshark runs the programs of its extcap folder with its own options first: `ltb` linked there is `ltb extcap`.
return await LtbCommandLine.Build().Parse(ExtcapCommand.IsWiresharkCall(args) ? ["extcap", .. args] : args).InvokeAsync();
