using Microsoft.Extensions.Hosting;

namespace Harness.Serving;

/// <summary>The host does not handle SIGTERM or Ctrl-C: <c>harness serve</c> does, and drains first.</summary>
internal sealed class CallerOwnsLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
