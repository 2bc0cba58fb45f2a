using System.Text.Json;
using Harness.Backends;
using Harness.Decoding;
using Harness.Engine;

namespace Harness.OpenAI;

/// <summary>
/// The <c>openai:URL</c> backend: any OpenAI-compatible server (vLLM, SGLang, TensorRT-LLM, Dynamo,
/// llama.cpp, TGI, NIM, <c>harness serve</c>) as a request-level endpoint for <c>generate</c> and
/// the agents. Creating parses and checks every option (<see cref="EndpointRunSpec"/>: settings, API key,
/// tokenizer, dataset, server metrics); connecting asks /models which model to use and points the
/// server metrics at the server's /metrics.
/// </summary>
public sealed class OpenAiBackendProvider : IBackendProvider, IEndpointProvider
{
    public const string RuntimeName = "openai";

    public string Runtime => RuntimeName;

    public IReadOnlyList<string> Devices { get; } = ["http", "https"];

    public IReadOnlyList<WorkloadInfo> Workloads { get; } =
    [
        new(GenerateWorkload.Name, "streamed requests to an OpenAI-compatible server (openai:URL): TTFT, TTFO, ITL per token and per event, TPOT, goodput; --dataset, --tokenizer, --server-metrics, --set model=|api=|hold=")
        {
            Settings = OpenAiSettings.Schema,
        },
    ];

    public KeyValuePair<string, string?> PackageVersion => new("System.Net.Http", Environment.Version.ToString());

    public DoctorCheck CheckDevice(string device) => Devices.Contains(device)
        ? new DoctorCheck($"openai:{device}", true, "HTTP client; the server is checked when a run connects")
        : new DoctorCheck($"openai:{device}", false, "use an http:// or https:// URL, e.g. openai:http://127.0.0.1:8000/v1");

    public IReadOnlyList<DoctorCheck> Diagnose() =>
        [new DoctorCheck("openai client", true, $"HttpClient on .NET {Environment.Version}; TLS through the system trust store (SSL_CERT_FILE / SSL_CERT_DIR add a CA)")];

    /// <summary>
    /// generate's endpoint workload, its options parsed and checked now (<see cref="EndpointRunSpec"/>):
    /// bad input exits 2 before anything connects.
    /// </summary>
    public IWorkload Create(string workload, BackendSpec backend, WorkloadOptions options) => workload switch
    {
        GenerateWorkload.Name => new EndpointGenerateWorkload(EndpointRunSpec.From(backend, options)),
        _ => throw HarnessException.BadInput($"Unknown workload '{workload}' for backend {RuntimeName}; it runs {GenerateWorkload.Name} (and the agents' LLM with --llm openai:URL)."),
    };

    /// <summary>The agents' LLM (<c>--llm openai:URL</c>): the same spec and connection as generate's.</summary>
    public EndpointConnection Connect(BackendSpec backend, WorkloadOptions options, EndpointSettings settings) =>
        Connect(EndpointRunSpec.From(backend, options), settings);

    /// <summary>
    /// Connects to the server a checked spec names: asks /models which model to use (and its context),
    /// and builds the endpoint. The only failures left here are the server's.
    /// </summary>
    public static EndpointConnection Connect(EndpointRunSpec spec, EndpointSettings settings)
    {
        OpenAiSettings s = spec.Settings;
        (string model, int? context) = ChooseModel(spec.BaseUrl, s.Model, spec.ApiKey);
        TimeSpan? timeout = settings.RequestTimeout ?? s.Timeout;
        var endpoint = new OpenAiEndpoint(spec.BaseUrl, model, s, spec.ApiKey, settings.Clock, spec.Tokenizer, timeout);
        return new EndpointConnection(endpoint, spec.Tokenizer, MetricsUrl(spec.BaseUrl))
        {
            OutputLengthControl = s.HoldName,
            ContextTokens = context,
        };
    }

    /// <summary>The server's /metrics beside its API: http://host:port/v1 gives http://host:port/metrics.</summary>
    public static Uri MetricsUrl(Uri baseUrl) => new(baseUrl.GetLeftPart(UriPartial.Authority) + "/metrics");

    /// <summary>
    /// The model asked for, or the only one /models lists, with its context where /models says it
    /// (<c>max_model_len</c>); several or none without a choice is bad input naming them.
    /// </summary>
    private static (string Model, int? Context) ChooseModel(Uri baseUrl, string? asked, string? key)
    {
        List<(string Id, int? Context)>? listed = null;
        string? why = null;
        try
        {
            listed = ListModels(baseUrl, key);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException or IOException or InvalidOperationException)
        {
            why = e is TaskCanceledException ? "timed out" : e.InnerException is { } inner ? $"{e.Message} ({inner.Message})" : e.Message;
        }

        if (asked is not null)
        {
            if (listed is not null && listed.Count > 0 && !listed.Any(m => m.Id == asked))
            {
                string names = string.Join(", ", listed.Select(m => m.Id));
                throw HarnessException.BadInput($"Model '{asked}' is not served at {baseUrl}; /models lists: {names}.");
            }

            return (asked, listed?.FirstOrDefault(m => m.Id == asked).Context);
        }

        return listed switch
        {
            null => throw HarnessException.BadInput($"Cannot ask {baseUrl}/models which model it serves ({why}); is the server up? Name the model with --set model=NAME."),
            [var only] => only,
            [] => throw HarnessException.BadInput($"{baseUrl}/models lists no model; name one with --set model=NAME."),
            _ => throw HarnessException.BadInput(
                $"{baseUrl}/models lists {listed.Count} models ({string.Join(", ", listed.Select(m => m.Id))}); "
                + "choose one with --set model=NAME."),
        };
    }

    private static List<(string Id, int? Context)> ListModels(Uri baseUrl, string? key)
    {
        using HttpClient http = OpenAiEndpoint.CreateClient();
        http.Timeout = TimeSpan.FromSeconds(10);
        using var request = new HttpRequestMessage(HttpMethod.Get, baseUrl.ToString().TrimEnd('/') + "/models");
        if (key is not null)
        {
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        }

        using HttpResponseMessage response = http.Send(request);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"HTTP {(int)response.StatusCode} {response.ReasonPhrase}");
        }

        using var reader = new StreamReader(response.Content.ReadAsStream());
        using var doc = JsonDocument.Parse(reader.ReadToEnd());
        var models = new List<(string, int?)>();
        if (doc.RootElement.TryGetProperty("data", out JsonElement data) && data.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement m in data.EnumerateArray())
            {
                if (m.TryGetProperty("id", out JsonElement id) && id.GetString() is { } name)
                {
                    int? context = m.TryGetProperty("max_model_len", out JsonElement len) && len.ValueKind == JsonValueKind.Number
                        && len.TryGetInt32(out int n) && n > 0 ? n : null;
                    models.Add((name, context));
                }
            }
        }

        return models;
    }
}
