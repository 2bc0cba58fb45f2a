using Harness.Backends;
using Harness.Metrics;

namespace Harness.Decoding.Sampling;

/// <summary>
/// The <c>--set</c> keys of <c>run generate</c> that make its sequences sample (OpenAI's and vLLM's
/// names and ranges): <c>--set temperature=0.7,top_p=0.9</c>. Each sequence is seeded from the run's
/// seed and its index (<see cref="SamplingParams.ForSequence"/>). None given: greedy.
/// </summary>
public static class SamplingSettings
{
    public static readonly SettingKey<double> TemperatureKey =
        Setting.Number(ConfigKeys.Temperature, 0, 0, 2, "sampling temperature; 0 is greedy (argmax)");

    public static readonly SettingKey<int> TopKKey = Setting.Int("top_k", 0, 0, "keep the k most likely tokens; 0 keeps all");

    public static readonly SettingKey<double> TopPKey =
        Setting.Number("top_p", 1, double.Epsilon, 1, "keep the smallest set of most likely tokens whose mass reaches p");

    public static readonly SettingKey<double> MinPKey =
        Setting.Number("min_p", 0, 0, 1, "drop tokens less likely than min_p times the most likely");

    public static readonly SettingKey<double> RepetitionPenaltyKey =
        Setting.Number("repetition_penalty", 1, double.Epsilon, 2, "vLLM's repetition penalty (prompt and output tokens); 1 is off");

    public static readonly SettingKey<double> PresencePenaltyKey =
        Setting.Number("presence_penalty", 0, -2, 2, "OpenAI's presence penalty over the output so far");

    public static readonly SettingKey<double> FrequencyPenaltyKey =
        Setting.Number("frequency_penalty", 0, -2, 2, "OpenAI's frequency penalty over the output so far");

    public static readonly SettingKey<int> TopLogprobsKey = Setting.Int(
        "top_logprobs", 0, 0, "return each token's log-probability and this many most likely others", max: SamplingParams.MaxTopLogprobs);

    public static readonly SettingKey<bool> LogprobsKey = Setting.Flag("logprobs", false, "return each token's log-probability");

    /// <summary>The keys, for a generate workload's settings schema.</summary>
    public static IReadOnlyList<SettingKey> Keys { get; } =
    [
        TemperatureKey, TopKKey, TopPKey, MinPKey, RepetitionPenaltyKey, PresencePenaltyKey, FrequencyPenaltyKey,
        LogprobsKey, TopLogprobsKey,
    ];

    /// <summary>The sampling the settings ask for (every sequence's, before its seed).</summary>
    public static SamplingParams From(IReadOnlyDictionary<string, string> settings)
    {
        int top = TopLogprobsKey.Get(settings);
        return new SamplingParams
        {
            Temperature = TemperatureKey.Get(settings),
            TopK = TopKKey.Get(settings),
            TopP = TopPKey.Get(settings),
            MinP = MinPKey.Get(settings),
            RepetitionPenalty = RepetitionPenaltyKey.Get(settings),
            PresencePenalty = PresencePenaltyKey.Get(settings),
            FrequencyPenalty = FrequencyPenaltyKey.Get(settings),
            Logprobs = LogprobsKey.Get(settings) || top > 0,
            TopLogprobs = top,
        }.Validated();
    }
}
