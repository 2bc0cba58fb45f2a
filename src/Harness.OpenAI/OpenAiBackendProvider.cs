using System.Text.Json;
using Harness.Backends;
using Harness.Datasets;
using Harness.Decoding;
using Harness.Engine;

namespace Harness.OpenAI;

/// <summary>
/// The <c>openai:URL</c> backend: any OpenAI-compatible server (vLLM, SGLang, TensorRT-LLM, Dynamo,
/// llama.cpp, TGI, NIM, <c>harness serve</c>) as a request-level endpoint for <c>generate</c> and
/// the agents. Connecting asks /models which model to use, reads the API key from its environment
/// variable, loads the tokenizer given, and points the server metrics at the server's /metrics.
/// </summary>
public sealed class OpenAiBackendProvider : IBackendProvider, IEndpointProvider
{
    public const string RuntimeName = "openai";
    public const string DefaultKeyVariable = "OPENAI_API_KEY";

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

    public IWorkload Create(string workload, BackendSpec backend, WorkloadOptions options) => workload switch
    {
        GenerateWorkload.Name => new GenerateWorkload(this, backend, options),
        _ => throw HarnessException.BadInput($"Unknown workload '{workload}' for backend {RuntimeName}; it runs {GenerateWorkload.Name} (and the agents' LLM with --llm openai:URL)."),
    };

    public EndpointConnection Connect(BackendSpec backend, WorkloadOptions options, EndpointSettings settings)
    {
        if (backend.Target is not { } target || !Uri.TryCreate(target, UriKind.Absolute, out Uri? baseUrl))
        {
            throw HarnessException.BadInput($"Backend '{backend}' needs a URL, e.g. openai:http://127.0.0.1:8000/v1.");
        }

        OpenAiSettings s = OpenAiSettings.From(options);
        string? key = ApiKey(options.ApiKeyVariable);
        ITokenCounter? tokenizer = options.TokenizerPath is { } path ? HfTokenizer.Load(path) : null;
        (string model, int? context) = ChooseModel(baseUrl, s.Model, key);
        var endpoint = new OpenAiEndpoint(baseUrl, model, s, key, settings.Clock, tokenizer, settings.RequestTimeout ?? s.Timeout);
        return new EndpointConnection(endpoint, tokenizer, MetricsUrl(baseUrl))
        {
            OutputLengthControl = s.HoldName,
            ContextTokens = context,
        };
    }

    /// <summary>The key from <paramref name="variable"/> (OPENAI_API_KEY when null); a named variable that is not set is bad input.</summary>
    public static string? ApiKey(string? variable)
    {
        string name = variable ?? DefaultKeyVariable;
        string? key = Environment.GetEnvironmentVariable(name);
        if (variable is not null && string.IsNullOrEmpty(key))
        {
            throw HarnessException.BadInput($"--api-key-env {variable}: that environment variable is not set.");
        }

        return string.IsNullOrEmpty(key) ? null : key;
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
