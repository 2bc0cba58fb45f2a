using System.Globalization;
using System.Text;

namespace Harness.Fleet.Slurm;

/// <summary>
/// Writes the sbatch script of a fleet run: an array job, one task per node (whole node, exclusive)
/// or per GPU (one GPU each), stdout and stderr per task in logs/, the harness command as quoted
/// words, then the shared task body (<see cref="TaskScript"/>). The script is self-contained:
/// <c>sbatch DIR/fleet.sbatch</c> resubmits the same fleet.
/// </summary>
public static class SbatchScript
{
    public static string Render(SlurmJobSpec spec)
    {
        spec.Validate();
        var layout = new FleetLayout(spec.ResultsDir);
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.Append("#!/bin/bash\n");
        sb.Append(c, $"#SBATCH --job-name={spec.JobName}\n");
        sb.Append(c, $"#SBATCH --array=0-{spec.Tasks - 1}\n");
        sb.Append("#SBATCH --nodes=1\n");
        sb.Append("#SBATCH --ntasks=1\n");
        if (spec.Per == TaskGranularity.Gpu)
        {
            sb.Append("#SBATCH --gpus=1\n");
        }
        else
        {
            // The whole node: nothing else shares its CPUs, memory bandwidth or GPUs during the run.
            sb.Append("#SBATCH --exclusive\n");
            if (spec.GpusPerNode is { } g)
            {
                sb.Append(c, $"#SBATCH --gpus-per-node={g}\n");
            }
        }

        if (spec.Partition is not null)
        {
            sb.Append(c, $"#SBATCH --partition={spec.Partition}\n");
        }

        if (spec.TimeLimit is not null)
        {
            sb.Append(c, $"#SBATCH --time={spec.TimeLimit}\n");
        }

        sb.Append(c, $"#SBATCH --output={Path.Combine(layout.LogsDir, "task-%a.out")}\n");
        sb.Append(c, $"#SBATCH --error={Path.Combine(layout.LogsDir, "task-%a.err")}\n");
        string unit = spec.Per == TaskGranularity.Gpu ? "GPU" : "node";
        sb.Append(c, $"# Written by 'harness slurm submit': {spec.Tasks} tasks, one per {unit}; each writes results/task-N.json and status/task-N.json under\n");
        sb.Append(c, $"# {spec.ResultsDir}. Follow with 'harness slurm status {spec.ResultsDir}', then 'harness slurm collect {spec.ResultsDir}'.\n");
        sb.Append("set -u\n");
        sb.Append("set -- ").Append(ShellQuote.Words(spec.Command.Argv)).Append('\n');
        sb.Append(TaskScript.Body(TaskEnvironment.Slurm, spec.ResultsDir));
        return sb.ToString();
    }
}
