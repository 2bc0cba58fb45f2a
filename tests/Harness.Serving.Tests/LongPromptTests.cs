using System.Diagnostics;
using System.Net;
using System.Text;

namespace Harness.Serving.Tests;

/// <summary>A hostile prompt of one giant word: tokenizing it costs time linear in its length, so the 400 comes soon.</summary>
public class LongPromptTests
{
    [Fact]
    public async Task A_one_word_prompt_of_the_whole_body_is_refused_for_context_as_fast_as_ten_a_tenth_its_size()
    {
        // Random letters: one \p{L}+ word per prompt, fresh each round. Same bytes both sides, interleaved, the
        // fastest of several rounds each; GPT-2's BPE alone would take about 10 times as long for the big one
        // (minutes on a loaded machine, past the client's timeout).
        await using InProcessServer s = await InProcessServer.StartAsync(backend: "latency-model");
        var random = new Random(13);
        int whole = ServeOptions.MaxBodyBytes - 64;
        double tens = double.MaxValue;
        double ones = double.MaxValue;
        for (int round = 0; round < 3; round++)
        {
            string[] small = Enumerable.Range(0, 10).Select(_ => Body(random, whole / 10)).ToArray();
            string large = Body(random, whole);
            var watch = Stopwatch.StartNew();
            foreach (string body in small)
            {
                await RefusedForContext(s, body);
            }

            tens = Math.Min(tens, watch.Elapsed.TotalSeconds);
            watch.Restart();
            await RefusedForContext(s, large);
            ones = Math.Min(ones, watch.Elapsed.TotalSeconds);
        }

        double ratio = ones / tens;
        Assert.True(ratio < 3, $"A 1 MiB one-word prompt took {ratio:F1} times as long as ten 100 kB ones ({ones:F2} s vs {tens:F2} s).");
    }

    private static async Task RefusedForContext(InProcessServer s, string body)
    {
        HttpResponseMessage r = await s.Http.PostAsync("/v1/completions", Api.Raw(body));
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        Assert.Contains("context_length_exceeded", await r.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    /// <summary>A completions body of <paramref name="bytes"/> bytes whose prompt is one word of random letters.</summary>
    private static string Body(Random random, int bytes)
    {
        const string Head = "{\"max_tokens\": 1, \"prompt\": \"";
        var text = new StringBuilder(Head, bytes);
        while (text.Length < bytes - 2)
        {
            text.Append((char)('a' + random.Next(26)));
        }

        return text.Append("\"}").ToString();
    }
}
