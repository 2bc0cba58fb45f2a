using Harness.Cli;

return HarnessCli.Invoke(args, Console.Out, Console.Error);
