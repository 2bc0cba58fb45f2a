// The official openai npm package against a harness server: node sdk-check.mjs BASE_URL MODEL.
// Prints one JSON object with what each call saw; exits 1 on any error.
import OpenAI from 'openai';

const [baseURL, model] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey: 'unused', maxRetries: 0, timeout: 120_000 });

async function streamed(create, piece) {
  const stream = await create();
  let tokens = 0, text = '', usage = null, finish = null;
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage;
    const choice = chunk.choices[0];
    if (!choice) continue;
    if (choice.finish_reason) {
      finish = choice.finish_reason;
      text += piece(choice) ?? '';
    } else {
      tokens++;
      text += piece(choice) ?? '';
    }
  }
  return { tokens, text, usage, finish };
}

try {
  const chat = await streamed(
    () => client.chat.completions.create({
      model,
      messages: [{ role: 'user', content: 'Hello from node.' }],
      max_completion_tokens: 10,
      ignore_eos: true,
      stream: true,
      stream_options: { include_usage: true },
    }),
    (c) => c.delta?.content);
  const whole = await client.completions.create({ model, prompt: 'Once upon a time', max_tokens: 7, ignore_eos: true });
  const streamedCompletion = await streamed(
    () => client.completions.create({ model, prompt: 'Once upon a time', max_tokens: 7, ignore_eos: true, stream: true, stream_options: { include_usage: true } }),
    (c) => c.text);
  console.log(JSON.stringify({
    chat,
    completion: { text: whole.choices[0].text, usage: whole.usage, finish: whole.choices[0].finish_reason },
    streamedCompletion,
  }));
} catch (e) {
  console.error(String(e?.stack ?? e));
  process.exit(1);
}
