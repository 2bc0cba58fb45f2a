using Harness.Cli;
using Harness.Torch;

// Where TorchSharp needs the Debian 12 compat and one is found: continue as the same process through its muxer.
TorchCompat.ReexecIfNeeded(args);
return HarnessCli.Invoke(args, Console.Out, Console.Error);
