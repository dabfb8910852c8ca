using Ltb.Cli;

return await LtbCommandLine.Build().Parse(args).InvokeAsync();
